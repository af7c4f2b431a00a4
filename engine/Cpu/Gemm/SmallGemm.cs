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
            if (!g.TransB) FewRowsByRowUpdates(g);
            else FewRowsByDots(g);
        }
        else if (!g.TransA) FewColumnsByDots(g);
        else FewColumnsByRowUpdates(g);
    }

    /// <summary>C row i = beta·C_i + Σ_p (alpha·a_ip)·B_p, B not transposed (its rows are contiguous).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewRowsByRowUpdates<T>(in GemmOperands<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < g.M; i++)
        {
            var row = g.C.AsSpan(g.OffsetC + i * g.N, g.N);
            ScaleOrClear(row, g.Beta);
            int p = 0;
            for (; p + 4 <= g.K; p += 4)
            {
                AddRows4(row, g.B.AsSpan(g.OffsetB + p * g.N), g.N,
                    g.Alpha * g.AAt(i, p), g.Alpha * g.AAt(i, p + 1), g.Alpha * g.AAt(i, p + 2), g.Alpha * g.AAt(i, p + 3));
            }
            for (; p < g.K; p++)
                TensorPrimitives.MultiplyAdd(g.B.AsSpan(g.OffsetB + p * g.N, g.N), g.Alpha * g.AAt(i, p), row, row);
        }
    }

    /// <summary>C_ij = alpha·⟨A_i, B_j⟩ + beta·C_ij, with A rows and B (N×K) rows contiguous.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewRowsByDots<T>(in GemmOperands<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < g.M; i++)
        {
            var a = g.A.AsSpan(g.OffsetA + i * g.K, g.K);
            for (int j = 0; j < g.N; j++)
                Write(ref g.C[g.OffsetC + i * g.N + j], g.Alpha * TensorPrimitives.Dot<T>(a, g.B.AsSpan(g.OffsetB + j * g.K, g.K)), g.Beta);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleOrClear<T>(Span<T> row, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.Zero) row.Clear();
        else if (beta != T.One) TensorPrimitives.Multiply(row, beta, row);
    }

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
