using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// The register-blocked inner kernels: C[MR×NR] (+)= Apanel[kc×MR]ᵀ·Bpanel[kc×NR], where the packed A panel
/// holds MR values per k step and the packed B panel NR values per k step. All MR·2 accumulators live in
/// registers; each k step loads two vectors of B, broadcasts MR scalars of A and issues 2·MR FMAs.
/// Write-back: beta = 0 stores, beta = 1 adds, otherwise C = acc + beta·C.
/// </summary>
internal static class MicroKernel
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector512<T> acc, ref T c, T beta, int mode) where T : unmanaged
    {
        if (mode == 0) acc.StoreUnsafe(ref c);
        else if (mode == 1) (acc + Vector512.LoadUnsafe(ref c)).StoreUnsafe(ref c);
        else Fma(Vector512.Create(beta), Vector512.LoadUnsafe(ref c), acc).StoreUnsafe(ref c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector256<T> acc, ref T c, T beta, int mode) where T : unmanaged
    {
        if (mode == 0) acc.StoreUnsafe(ref c);
        else if (mode == 1) (acc + Vector256.LoadUnsafe(ref c)).StoreUnsafe(ref c);
        else Fma(Vector256.Create(beta), Vector256.LoadUnsafe(ref c), acc).StoreUnsafe(ref c);
    }

    /// <summary>
    /// 8 rows × 2 Vector512 columns. B's k-th row of the tile is at b + k·ldb (ldb = NR for a packed panel,
    /// or B's row length when a small B is read in place). mode: 0 store, 1 add, 2 beta-scaled add.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel8x2V512<T>(int kc, ref T a, ref T b, nint ldb, ref T c, int ldc, T beta, int mode) where T : unmanaged
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref b);
            var b1 = Vector512.LoadUnsafe(ref b, (nuint)w);
            var ar = Vector512.Create(a);
            c00 = Fma(ar, b0, c00); c01 = Fma(ar, b1, c01);
            ar = Vector512.Create(Unsafe.Add(ref a, 1));
            c10 = Fma(ar, b0, c10); c11 = Fma(ar, b1, c11);
            ar = Vector512.Create(Unsafe.Add(ref a, 2));
            c20 = Fma(ar, b0, c20); c21 = Fma(ar, b1, c21);
            ar = Vector512.Create(Unsafe.Add(ref a, 3));
            c30 = Fma(ar, b0, c30); c31 = Fma(ar, b1, c31);
            ar = Vector512.Create(Unsafe.Add(ref a, 4));
            c40 = Fma(ar, b0, c40); c41 = Fma(ar, b1, c41);
            ar = Vector512.Create(Unsafe.Add(ref a, 5));
            c50 = Fma(ar, b0, c50); c51 = Fma(ar, b1, c51);
            ar = Vector512.Create(Unsafe.Add(ref a, 6));
            c60 = Fma(ar, b0, c60); c61 = Fma(ar, b1, c61);
            ar = Vector512.Create(Unsafe.Add(ref a, 7));
            c70 = Fma(ar, b0, c70); c71 = Fma(ar, b1, c71);
            a = ref Unsafe.Add(ref a, 8);
            b = ref Unsafe.Add(ref b, ldb);
        }
        Store(c00, ref c, beta, mode); Store(c01, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c10, ref c, beta, mode); Store(c11, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c20, ref c, beta, mode); Store(c21, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c30, ref c, beta, mode); Store(c31, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c40, ref c, beta, mode); Store(c41, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c50, ref c, beta, mode); Store(c51, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c60, ref c, beta, mode); Store(c61, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c70, ref c, beta, mode); Store(c71, ref Unsafe.Add(ref c, w), beta, mode);
    }

    /// <summary>
    /// Like <see cref="Kernel8x2V512"/> but reads A in place from 8 rows of a row-major matrix (row stride lda)
    /// instead of a packed panel: used when A is small enough to stay in cache, so packing it would only cost time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel8x2V512Direct<T>(int kc, ref T a, nint lda, ref T b, nint ldb, ref T c, int ldc, T beta, int mode) where T : unmanaged
    {
        int w = Vector512<T>.Count;
        nint o1 = lda, o2 = 2 * lda, o3 = 3 * lda, o4 = 4 * lda, o5 = 5 * lda, o6 = 6 * lda, o7 = 7 * lda;
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadUnsafe(ref b);
            var b1 = Vector512.LoadUnsafe(ref b, (nuint)w);
            var ar = Vector512.Create(a);
            c00 = Fma(ar, b0, c00); c01 = Fma(ar, b1, c01);
            ar = Vector512.Create(Unsafe.Add(ref a, o1));
            c10 = Fma(ar, b0, c10); c11 = Fma(ar, b1, c11);
            ar = Vector512.Create(Unsafe.Add(ref a, o2));
            c20 = Fma(ar, b0, c20); c21 = Fma(ar, b1, c21);
            ar = Vector512.Create(Unsafe.Add(ref a, o3));
            c30 = Fma(ar, b0, c30); c31 = Fma(ar, b1, c31);
            ar = Vector512.Create(Unsafe.Add(ref a, o4));
            c40 = Fma(ar, b0, c40); c41 = Fma(ar, b1, c41);
            ar = Vector512.Create(Unsafe.Add(ref a, o5));
            c50 = Fma(ar, b0, c50); c51 = Fma(ar, b1, c51);
            ar = Vector512.Create(Unsafe.Add(ref a, o6));
            c60 = Fma(ar, b0, c60); c61 = Fma(ar, b1, c61);
            ar = Vector512.Create(Unsafe.Add(ref a, o7));
            c70 = Fma(ar, b0, c70); c71 = Fma(ar, b1, c71);
            a = ref Unsafe.Add(ref a, 1);
            b = ref Unsafe.Add(ref b, ldb);
        }
        Store(c00, ref c, beta, mode); Store(c01, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c10, ref c, beta, mode); Store(c11, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c20, ref c, beta, mode); Store(c21, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c30, ref c, beta, mode); Store(c31, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c40, ref c, beta, mode); Store(c41, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c50, ref c, beta, mode); Store(c51, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c60, ref c, beta, mode); Store(c61, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c70, ref c, beta, mode); Store(c71, ref Unsafe.Add(ref c, w), beta, mode);
    }

    /// <summary>6 rows × 2 Vector256 columns (12 accumulators fit the 16 AVX2 registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel6x2V256<T>(int kc, ref T a, ref T b, ref T c, int ldc, T beta, int mode) where T : unmanaged
    {
        int w = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.LoadUnsafe(ref b);
            var b1 = Vector256.LoadUnsafe(ref b, (nuint)w);
            var ar = Vector256.Create(a);
            c00 = Fma(ar, b0, c00); c01 = Fma(ar, b1, c01);
            ar = Vector256.Create(Unsafe.Add(ref a, 1));
            c10 = Fma(ar, b0, c10); c11 = Fma(ar, b1, c11);
            ar = Vector256.Create(Unsafe.Add(ref a, 2));
            c20 = Fma(ar, b0, c20); c21 = Fma(ar, b1, c21);
            ar = Vector256.Create(Unsafe.Add(ref a, 3));
            c30 = Fma(ar, b0, c30); c31 = Fma(ar, b1, c31);
            ar = Vector256.Create(Unsafe.Add(ref a, 4));
            c40 = Fma(ar, b0, c40); c41 = Fma(ar, b1, c41);
            ar = Vector256.Create(Unsafe.Add(ref a, 5));
            c50 = Fma(ar, b0, c50); c51 = Fma(ar, b1, c51);
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 2 * w);
        }
        Store(c00, ref c, beta, mode); Store(c01, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c10, ref c, beta, mode); Store(c11, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c20, ref c, beta, mode); Store(c21, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c30, ref c, beta, mode); Store(c31, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c40, ref c, beta, mode); Store(c41, ref Unsafe.Add(ref c, w), beta, mode); c = ref Unsafe.Add(ref c, ldc);
        Store(c50, ref c, beta, mode); Store(c51, ref Unsafe.Add(ref c, w), beta, mode);
    }
}
