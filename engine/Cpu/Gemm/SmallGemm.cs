using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// Products with very few rows or columns (matrix-vector shapes such as a batch-1 MLP layer, 1×56 · 56×512):
/// packing would cost as much as the product, so these read the operands in place with either
/// row updates (c_row += a_ip · b_row, vectorized along the row) or dot products (vectorized along K).
/// </summary>
internal static class SmallGemm
{
    /// <summary>True when this product takes the unpacked path.</summary>
    public static bool Applies(int m, int n, bool transA, bool transB) =>
        (m <= GemmConfig.SmallExtent && !(transA && transB)) || n <= GemmConfig.SmallExtent;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(in GemmOperands<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g.M <= GemmConfig.SmallExtent && !(g.TransA && g.TransB))
        {
            if (!g.TransB) FewRowsByRowUpdates(g, 0, g.N);
            else FewRowsByDots(g);
        }
        else if (!g.TransA) FewColumnsByDots(g);
        else FewColumnsByRowUpdates(g);
    }

    /// <summary>
    /// Columns [j0, j1) of C row i = alpha·Σ_p a_ip·B_p + beta·C_i, B not transposed (its rows are contiguous).
    /// Columns are taken in strips of eight (then four, then one) vectors whose sums stay in registers over the
    /// whole K loop, so C is written once. Each column's sum runs over p in order whatever strip holds it, so a
    /// window of columns gets the bits the whole product would give it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FewRowsByRowUpdates<T>(in GemmOperands<T> g, int j0, int j1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = g.N, k = g.K, w = Vector512<T>.Count;
        int aStep = g.TransA ? g.M : 1;
        ref T b0 = ref g.B[g.OffsetB];
        for (int i = 0; i < g.M; i++)
        {
            ref T a = ref g.A[g.OffsetA + (g.TransA ? i : i * k)];
            ref T c = ref g.C[g.OffsetC + i * n];
            int j = j0;
            if (Vector512.IsHardwareAccelerated)
            {
                var alpha = Vector512.Create(g.Alpha);
                // Eight independent sums hide the FMA latency of the long K loop.
                for (; j + 8 * w <= j1; j += 8 * w)
                {
                    Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                    ref T b = ref Unsafe.Add(ref b0, j);
                    for (int p = 0; p < k; p++)
                    {
                        var av = Vector512.Create(Unsafe.Add(ref a, p * aStep));
                        s0 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b), s0);
                        s1 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)w), s1);
                        s2 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)(2 * w)), s2);
                        s3 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)(3 * w)), s3);
                        s4 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)(4 * w)), s4);
                        s5 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)(5 * w)), s5);
                        s6 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)(6 * w)), s6);
                        s7 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)(7 * w)), s7);
                        b = ref Unsafe.Add(ref b, n);
                    }
                    ref T cj = ref Unsafe.Add(ref c, j);
                    StoreRow(alpha * s0, ref cj, g.Beta);
                    StoreRow(alpha * s1, ref Unsafe.Add(ref cj, w), g.Beta);
                    StoreRow(alpha * s2, ref Unsafe.Add(ref cj, 2 * w), g.Beta);
                    StoreRow(alpha * s3, ref Unsafe.Add(ref cj, 3 * w), g.Beta);
                    StoreRow(alpha * s4, ref Unsafe.Add(ref cj, 4 * w), g.Beta);
                    StoreRow(alpha * s5, ref Unsafe.Add(ref cj, 5 * w), g.Beta);
                    StoreRow(alpha * s6, ref Unsafe.Add(ref cj, 6 * w), g.Beta);
                    StoreRow(alpha * s7, ref Unsafe.Add(ref cj, 7 * w), g.Beta);
                }
                for (; j + 4 * w <= j1; j += 4 * w)
                {
                    Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
                    ref T b = ref Unsafe.Add(ref b0, j);
                    for (int p = 0; p < k; p++)
                    {
                        var av = Vector512.Create(Unsafe.Add(ref a, p * aStep));
                        s0 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b), s0);
                        s1 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)w), s1);
                        s2 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)(2 * w)), s2);
                        s3 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)(3 * w)), s3);
                        b = ref Unsafe.Add(ref b, n);
                    }
                    StoreRow(alpha * s0, ref Unsafe.Add(ref c, j), g.Beta);
                    StoreRow(alpha * s1, ref Unsafe.Add(ref c, j + w), g.Beta);
                    StoreRow(alpha * s2, ref Unsafe.Add(ref c, j + 2 * w), g.Beta);
                    StoreRow(alpha * s3, ref Unsafe.Add(ref c, j + 3 * w), g.Beta);
                }
                for (; j + w <= j1; j += w)
                {
                    Vector512<T> s0 = default;
                    ref T b = ref Unsafe.Add(ref b0, j);
                    for (int p = 0; p < k; p++)
                    {
                        s0 = MicroKernel.Fma(Vector512.Create(Unsafe.Add(ref a, p * aStep)), Vector512.LoadUnsafe(ref b), s0);
                        b = ref Unsafe.Add(ref b, n);
                    }
                    StoreRow(alpha * s0, ref Unsafe.Add(ref c, j), g.Beta);
                }
            }
            for (; j < j1; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++) sum += Unsafe.Add(ref a, p * aStep) * Unsafe.Add(ref b0, p * n + j);
                Write(ref Unsafe.Add(ref c, j), g.Alpha * sum, g.Beta);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T>(Vector512<T> value, ref T c, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.Zero) value.StoreUnsafe(ref c);
        else MicroKernel.Fma(Vector512.Create(beta), Vector512.LoadUnsafe(ref c), value).StoreUnsafe(ref c);
    }

    /// <summary>
    /// C_ij = alpha·⟨A_i, B_j⟩ + beta·C_ij, with A rows and B (N×K) rows contiguous: a linear layer x·Wᵀ with
    /// W stored [out, in]. Four rows of B are dotted with the A row at once, so each A vector is loaded once
    /// per four outputs and four independent sums hide the FMA latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewRowsByDots<T>(in GemmOperands<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = g.K;
        for (int i = 0; i < g.M; i++)
        {
            ref T a = ref g.A[g.OffsetA + i * k];
            ref T c = ref g.C[g.OffsetC + i * g.N];
            int j = 0;
            for (; j + 4 <= g.N; j += 4)
            {
                ref T b = ref g.B[g.OffsetB + j * k];
                Dot4(ref a, ref b, k, out T d0, out T d1, out T d2, out T d3);
                Write(ref Unsafe.Add(ref c, j), g.Alpha * d0, g.Beta);
                Write(ref Unsafe.Add(ref c, j + 1), g.Alpha * d1, g.Beta);
                Write(ref Unsafe.Add(ref c, j + 2), g.Alpha * d2, g.Beta);
                Write(ref Unsafe.Add(ref c, j + 3), g.Alpha * d3, g.Beta);
            }
            var aRow = g.A.AsSpan(g.OffsetA + i * k, k);
            for (; j < g.N; j++)
                Write(ref Unsafe.Add(ref c, j), g.Alpha * TensorPrimitives.Dot<T>(aRow, g.B.AsSpan(g.OffsetB + j * k, k)), g.Beta);
        }
    }

    /// <summary>The dots of a (length k) with the four consecutive rows of b (row stride k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot4<T>(ref T a, ref T b, int k, out T d0, out T d1, out T d2, out T d3) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T b1 = ref Unsafe.Add(ref b, k);
        ref T b2 = ref Unsafe.Add(ref b, 2 * k);
        ref T b3 = ref Unsafe.Add(ref b, 3 * k);
        int p = 0;
        d0 = d1 = d2 = d3 = T.Zero;
        if (Vector512.IsHardwareAccelerated && k >= Vector512<T>.Count)
        {
            int w = Vector512<T>.Count;
            Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p <= k - w; p += w)
            {
                var av = Vector512.LoadUnsafe(ref a, (nuint)p);
                s0 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)p), s0);
                s1 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b1, (nuint)p), s1);
                s2 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b2, (nuint)p), s2);
                s3 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b3, (nuint)p), s3);
            }
            if (p < k)
            {
                // The last vector ends at k and overlaps the done part; the overlapping lanes of a are zeroed.
                int last = k - w;
                var fresh = Vector512.GreaterThanOrEqual(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(p - last)));
                var av = Vector512.LoadUnsafe(ref a, (nuint)last) & fresh;
                s0 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b, (nuint)last), s0);
                s1 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b1, (nuint)last), s1);
                s2 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b2, (nuint)last), s2);
                s3 = MicroKernel.Fma(av, Vector512.LoadUnsafe(ref b3, (nuint)last), s3);
                p = k;
            }
            d0 = Vector512.Sum(s0); d1 = Vector512.Sum(s1); d2 = Vector512.Sum(s2); d3 = Vector512.Sum(s3);
        }
        else if (Vector256.IsHardwareAccelerated && k >= Vector256<T>.Count)
        {
            int w = Vector256<T>.Count;
            Vector256<T> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; p <= k - w; p += w)
            {
                var av = Vector256.LoadUnsafe(ref a, (nuint)p);
                s0 = MicroKernel.Fma(av, Vector256.LoadUnsafe(ref b, (nuint)p), s0);
                s1 = MicroKernel.Fma(av, Vector256.LoadUnsafe(ref b1, (nuint)p), s1);
                s2 = MicroKernel.Fma(av, Vector256.LoadUnsafe(ref b2, (nuint)p), s2);
                s3 = MicroKernel.Fma(av, Vector256.LoadUnsafe(ref b3, (nuint)p), s3);
            }
            d0 = Vector256.Sum(s0); d1 = Vector256.Sum(s1); d2 = Vector256.Sum(s2); d3 = Vector256.Sum(s3);
        }
        for (; p < k; p++)
        {
            T ap = Unsafe.Add(ref a, p);
            d0 += ap * Unsafe.Add(ref b, p);
            d1 += ap * Unsafe.Add(ref b1, p);
            d2 += ap * Unsafe.Add(ref b2, p);
            d3 += ap * Unsafe.Add(ref b3, p);
        }
    }

    /// <summary>C_ij = alpha·⟨A_i, column j of op(B)⟩ + beta·C_ij, A not transposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewColumnsByDots<T>(in GemmOperands<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var column = GemmScratch<T>.Vector(g.K);
        for (int j = 0; j < g.N; j++)
        {
            ReadOnlySpan<T> b;
            if (g.TransB) b = g.B.AsSpan(g.OffsetB + j * g.K, g.K);
            else if (g.N == 1) b = g.B.AsSpan(g.OffsetB, g.K);
            else
            {
                for (int p = 0; p < g.K; p++) column[p] = g.B[g.OffsetB + p * g.N + j];
                b = column.AsSpan(0, g.K);
            }
            for (int i = 0; i < g.M; i++)
                Write(ref g.C[g.OffsetC + i * g.N + j], g.Alpha * TensorPrimitives.Dot(g.A.AsSpan(g.OffsetA + i * g.K, g.K), b), g.Beta);
        }
    }

    /// <summary>Column j of C = Σ_p b_pj·A_p with A stored K×M (its rows are columns of op(A)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewColumnsByRowUpdates<T>(in GemmOperands<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var sum = GemmScratch<T>.Vector(g.M).AsSpan(0, g.M);
        for (int j = 0; j < g.N; j++)
        {
            sum.Clear();
            int p = 0;
            for (; p + 4 <= g.K; p += 4)
                AddRows4(sum, g.A.AsSpan(g.OffsetA + p * g.M), g.M, g.BAt(p, j), g.BAt(p + 1, j), g.BAt(p + 2, j), g.BAt(p + 3, j));
            for (; p < g.K; p++)
                TensorPrimitives.MultiplyAdd(g.A.AsSpan(g.OffsetA + p * g.M, g.M), g.BAt(p, j), sum, sum);
            for (int i = 0; i < g.M; i++) Write(ref g.C[g.OffsetC + i * g.N + j], g.Alpha * sum[i], g.Beta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write<T>(ref T c, T value, T beta) where T : unmanaged, IFloatingPointIeee754<T> =>
        c = beta == T.Zero ? value : value + beta * c;

    /// <summary>dst += s0·r0 + s1·r1 + s2·r2 + s3·r3 where r_k = rows[k·stride ..] (length dst.Length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRows4<T>(Span<T> dst, ReadOnlySpan<T> rows, int stride, T s0, T s1, T s2, T s3)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = dst.Length, j = 0;
        ref T d = ref MemoryMarshal.GetReference(dst);
        ref T r0 = ref MemoryMarshal.GetReference(rows);
        ref T r1 = ref Unsafe.Add(ref r0, stride);
        ref T r2 = ref Unsafe.Add(ref r0, 2 * stride);
        ref T r3 = ref Unsafe.Add(ref r0, 3 * stride);
        if (Vector512.IsHardwareAccelerated && n >= Vector512<T>.Count)
        {
            var v0 = Vector512.Create(s0); var v1 = Vector512.Create(s1); var v2 = Vector512.Create(s2); var v3 = Vector512.Create(s3);
            for (; j <= n - Vector512<T>.Count; j += Vector512<T>.Count)
            {
                var acc = Vector512.LoadUnsafe(ref d, (nuint)j)
                    + v0 * Vector512.LoadUnsafe(ref r0, (nuint)j) + v1 * Vector512.LoadUnsafe(ref r1, (nuint)j)
                    + v2 * Vector512.LoadUnsafe(ref r2, (nuint)j) + v3 * Vector512.LoadUnsafe(ref r3, (nuint)j);
                acc.StoreUnsafe(ref d, (nuint)j);
            }
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            var v0 = Vector256.Create(s0); var v1 = Vector256.Create(s1); var v2 = Vector256.Create(s2); var v3 = Vector256.Create(s3);
            for (; j <= n - Vector256<T>.Count; j += Vector256<T>.Count)
            {
                var acc = Vector256.LoadUnsafe(ref d, (nuint)j)
                    + v0 * Vector256.LoadUnsafe(ref r0, (nuint)j) + v1 * Vector256.LoadUnsafe(ref r1, (nuint)j)
                    + v2 * Vector256.LoadUnsafe(ref r2, (nuint)j) + v3 * Vector256.LoadUnsafe(ref r3, (nuint)j);
                acc.StoreUnsafe(ref d, (nuint)j);
            }
        }
        for (; j < n; j++)
            Unsafe.Add(ref d, j) += s0 * Unsafe.Add(ref r0, j) + s1 * Unsafe.Add(ref r1, j) + s2 * Unsafe.Add(ref r2, j) + s3 * Unsafe.Add(ref r3, j);
    }
}
