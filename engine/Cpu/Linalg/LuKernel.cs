using System.Numerics;
using System.Numerics.Tensors;

namespace DiffTori.Engine;

/// <summary>
/// LU factorization with partial pivoting of one row-major n×n matrix (LAPACK getrf conventions),
/// right-looking: after choosing the pivot of column i, each row below gets one vectorized update
/// of its contiguous tail. And the matching solve.
/// </summary>
internal static class LuKernel
{
    /// <summary>Factor lu in place (it holds A on entry): P·A = L·U, unit L below the diagonal, U on and above.
    /// pivots[i] is the row swapped with row i at step i. Returns 0 or the 1-based index of the first zero pivot.</summary>
    public static int Factor<T>(Span<T> lu, Span<int> pivots, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int info = 0;
        for (int i = 0; i < n; i++)
        {
            int p = i;
            T best = T.Abs(lu[i * n + i]);
            for (int r = i + 1; r < n; r++)
            {
                T v = T.Abs(lu[r * n + i]);
                if (v > best) { best = v; p = r; }
            }
            pivots[i] = p;
            if (p != i) SwapRows(lu, i, p, n);

            T d = lu[i * n + i];
            if (d == T.Zero)
            {
                if (info == 0) info = i + 1;
                continue;                      // like getrf: keep going, U[i,i] = 0 marks the matrix singular
            }
            T inverse = T.One / d;
            var pivotTail = lu.Slice(i * n + i + 1, n - i - 1);
            for (int r = i + 1; r < n; r++)
            {
                T factor = lu[r * n + i] * inverse;
                lu[r * n + i] = factor;
                if (factor != T.Zero)
                {
                    var tail = lu.Slice(r * n + i + 1, n - i - 1);
                    TensorPrimitives.MultiplyAdd<T>(pivotTail, -factor, tail, tail);
                }
            }
        }
        return info;
    }

    /// <summary>Solve A·X = B in place (x holds B, n×k) from <see cref="Factor"/>'s output.</summary>
    public static void Solve<T>(ReadOnlySpan<T> lu, ReadOnlySpan<int> pivots, Span<T> x, int n, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
            if (pivots[i] != i) SwapRows(x, i, pivots[i], k);
        TriangularKernel.Solve(lu, x, n, k, lower: true, transposeA: false, unitDiagonal: true);
        TriangularKernel.Solve(lu, x, n, k, lower: false, transposeA: false, unitDiagonal: false);
    }

    private static void SwapRows<T>(Span<T> m, int i, int p, int width) where T : unmanaged
    {
        var a = m.Slice(i * width, width);
        var b = m.Slice(p * width, width);
        for (int c = 0; c < width; c++) (a[c], b[c]) = (b[c], a[c]);
    }
}
