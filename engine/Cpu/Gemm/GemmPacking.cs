using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DiffTori.Engine;

/// <summary>
/// Copies blocks of op(A) and op(B) into the microkernel's panel layouts, so the kernel reads both with unit
/// stride whatever the transposes. Edges are zero-padded to whole tiles; alpha is folded into A.
/// </summary>
internal static class GemmPacking
{
    /// <summary>
    /// Rows [i0, i0+mc) × depth [p0, p0+kc) of op(A) into panels of MR rows: panel r holds, for each k,
    /// the MR values of rows i0+r·MR .. +MR (zero past mc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<T>(in GemmOperands<T> g, int i0, int mc, int p0, int kc, int mr, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T alpha = g.Alpha;
        for (int r0 = 0; r0 < mc; r0 += mr)
        {
            var panel = dst.Slice(r0 * kc, mr * kc);
            int rows = Math.Min(mr, mc - r0);
            if (rows < mr) panel.Clear();
            if (g.TransA)
            {
                // A is K×M: for each k the panel's rows are contiguous in memory (copied as vectors when whole).
                int w = Vector256<T>.Count;
                var scale = Vector256.Create(alpha);
                for (int p = 0; p < kc; p++)
                {
                    var src = g.A.AsSpan(g.OffsetA + (p0 + p) * g.M + i0 + r0, rows);
                    var d = panel.Slice(p * mr, rows);
                    int r = 0;
                    if (Vector256.IsHardwareAccelerated)
                        for (; r + w <= rows; r += w) (scale * Vector256.Create<T>(src[r..])).CopyTo(d[r..]);
                    for (; r < rows; r++) d[r] = alpha * src[r];
                }
            }
            else if (rows == 8 && mr == 8)
            {
                // A whole panel of eight rows, walked along k so the panel is written in order: eight k steps at
                // a time as an 8×8 transpose in registers (float32), the rest one value per row.
                long k = g.K;
                ref T s = ref g.A[g.OffsetA + (i0 + r0) * g.K + p0];
                ref T d = ref panel[0];
                int p = 0;
                if (typeof(T) == typeof(float) && Avx.IsSupported)
                    for (; p + 8 <= kc; p += 8)
                        Transpose8x8(ref Unsafe.As<T, float>(ref Unsafe.Add(ref s, p)), (nint)k, ref Unsafe.As<T, float>(ref Unsafe.Add(ref d, p * 8)), 8, float.CreateTruncating(alpha));
                for (; p < kc; p++)
                {
                    ref T sp = ref Unsafe.Add(ref s, p);
                    ref T dp = ref Unsafe.Add(ref d, p * 8);
                    dp = alpha * sp;
                    Unsafe.Add(ref dp, 1) = alpha * Unsafe.Add(ref sp, (nint)k);
                    Unsafe.Add(ref dp, 2) = alpha * Unsafe.Add(ref sp, (nint)(2 * k));
                    Unsafe.Add(ref dp, 3) = alpha * Unsafe.Add(ref sp, (nint)(3 * k));
                    Unsafe.Add(ref dp, 4) = alpha * Unsafe.Add(ref sp, (nint)(4 * k));
                    Unsafe.Add(ref dp, 5) = alpha * Unsafe.Add(ref sp, (nint)(5 * k));
                    Unsafe.Add(ref dp, 6) = alpha * Unsafe.Add(ref sp, (nint)(6 * k));
                    Unsafe.Add(ref dp, 7) = alpha * Unsafe.Add(ref sp, (nint)(7 * k));
                }
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    var src = g.A.AsSpan(g.OffsetA + (i0 + r0 + r) * g.K + p0, kc);
                    for (int p = 0; p < kc; p++) panel[p * mr + r] = alpha * src[p];
                }
            }
        }
    }

    /// <summary>Depth [p0, p0+kc) × columns [j0, j0+nc) of op(B) into panels of NR columns (zero past nc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<T>(in GemmOperands<T> g, int p0, int kc, int j0, int nc, int nr, Span<T> dst)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c0 = 0; c0 < nc; c0 += nr)
        {
            var panel = dst.Slice(c0 * kc, nr * kc);
            int cols = Math.Min(nr, nc - c0);
            if (g.TransB)
            {
                if (cols < nr) panel.Clear();
                // B is N×K: each column of op(B) is a contiguous row of B. Groups of eight columns go eight k
                // steps at a time as an 8×8 transpose in registers (float32); the rest one value at a time.
                int j = 0;
                if (typeof(T) == typeof(float) && Avx.IsSupported)
                    for (; j + 8 <= cols; j += 8)
                    {
                        ref T src = ref g.B[g.OffsetB + (j0 + c0 + j) * g.K + p0];
                        int p = 0;
                        for (; p + 8 <= kc; p += 8)
                            Transpose8x8(ref Unsafe.As<T, float>(ref Unsafe.Add(ref src, p)), g.K, ref Unsafe.As<T, float>(ref panel[p * nr + j]), nr, 1f);
                        for (; p < kc; p++)
                            for (int i = 0; i < 8; i++) panel[p * nr + j + i] = Unsafe.Add(ref src, (nint)i * g.K + p);
                    }
                for (; j < cols; j++)
                {
                    var src = g.B.AsSpan(g.OffsetB + (j0 + c0 + j) * g.K + p0, kc);
                    for (int p = 0; p < kc; p++) panel[p * nr + j] = src[p];
                }
            }
            else
            {
                if (cols == nr)
                {
                    // A whole panel: each k row is NR contiguous values, copied as vectors (a memmove call per
                    // 128-byte row costs more than the copy, and the caller packs B while the other core waits).
                    CopyRows(ref g.B[g.OffsetB + p0 * g.N + j0 + c0], g.N, ref panel[0], nr, kc);
                    continue;
                }
                for (int p = 0; p < kc; p++)
                {
                    var d = panel.Slice(p * nr, nr);
                    g.B.AsSpan(g.OffsetB + (p0 + p) * g.N + j0 + c0, cols).CopyTo(d);
                    if (cols < nr) d[cols..].Clear();
                }
            }
        }
    }

    /// <summary>
    /// dst[k·ldd + i] = scale·src[i·lds + k] for i, k &lt; 8: eight rows of eight values written as eight columns,
    /// transposed in registers (unpack pairs, shuffle quads, swap 128-bit halves).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float src, nint lds, ref float dst, nint ldd, float scale)
    {
        var r0 = Vector256.LoadUnsafe(ref src); var r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, lds));
        var r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 2 * lds)); var r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 3 * lds));
        var r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 4 * lds)); var r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 5 * lds));
        var r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 6 * lds)); var r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref src, 7 * lds));
        // Pairs of rows interleaved: t0 = a0 b0 a1 b1 | a4 b4 a5 b5, t1 = a2 b2 a3 b3 | a6 b6 a7 b7, …
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // Quads: s0 = a0 b0 c0 d0 | a4 b4 c4 d4, s1 = a1 … | a5 …, s2 = a2 … | a6 …, s3 = a3 … | a7 …; s4–s7 for e–h.
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        var sv = Vector256.Create(scale);
        bool scaled = scale != 1f;
        StoreColumn(Avx.Permute2x128(s0, s4, 0x20), ref dst, 0, sv, scaled);
        StoreColumn(Avx.Permute2x128(s1, s5, 0x20), ref dst, ldd, sv, scaled);
        StoreColumn(Avx.Permute2x128(s2, s6, 0x20), ref dst, 2 * ldd, sv, scaled);
        StoreColumn(Avx.Permute2x128(s3, s7, 0x20), ref dst, 3 * ldd, sv, scaled);
        StoreColumn(Avx.Permute2x128(s0, s4, 0x31), ref dst, 4 * ldd, sv, scaled);
        StoreColumn(Avx.Permute2x128(s1, s5, 0x31), ref dst, 5 * ldd, sv, scaled);
        StoreColumn(Avx.Permute2x128(s2, s6, 0x31), ref dst, 6 * ldd, sv, scaled);
        StoreColumn(Avx.Permute2x128(s3, s7, 0x31), ref dst, 7 * ldd, sv, scaled);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumn(Vector256<float> column, ref float dst, nint offset, Vector256<float> scale, bool scaled) =>
        (scaled ? column * scale : column).StoreUnsafe(ref Unsafe.Add(ref dst, offset));

    /// <summary>Copies rows × width values from rows lds apart to contiguous rows (width a multiple of Vector256's count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRows<T>(ref T src, int lds, ref T dst, int width, int rows) where T : unmanaged
    {
        int w = Vector256<T>.Count;
        for (int p = 0; p < rows; p++)
        {
            ref T s = ref Unsafe.Add(ref src, (nint)p * lds);
            ref T d = ref Unsafe.Add(ref dst, (nint)p * width);
            for (int j = 0; j < width; j += w) Vector256.LoadUnsafe(ref s, (nuint)j).StoreUnsafe(ref d, (nuint)j);
        }
    }
}
