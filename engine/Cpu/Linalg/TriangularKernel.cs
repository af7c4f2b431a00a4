using System.Numerics;
using System.Numerics.Tensors;

namespace DiffTori.Engine;

/// <summary>
/// Solves op(A)·X = B in place for one row-major triangular n×n A and n×k X (holding B on entry).
/// Every case is arranged so that the inner loop runs over contiguous memory:
/// without transpose, a dot product with a row of A (k = 1) or an update of a whole row of X;
/// with transpose, column-oriented substitution that reads rows of A (the columns of Aᵀ).
/// </summary>
internal static class TriangularKernel
{
    public static void Solve<T>(ReadOnlySpan<T> a, Span<T> x, int n, int k, bool lower, bool transposeA, bool unitDiagonal)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // op(A) is lower triangular exactly when lower != transposeA: then solve forward, else backward.
        if (!transposeA)
        {
            if (lower) ForwardByRows(a, x, n, k, unitDiagonal);
            else BackwardByRows(a, x, n, k, unitDiagonal);
        }
        else
        {
            if (lower) BackwardByColumns(a, x, n, k, unitDiagonal);
            else ForwardByColumns(a, x, n, k, unitDiagonal);
        }
    }

    // A lower: X[i] = (B[i] − Σ_{j<i} A[i,j]·X[j]) / A[i,i].
    private static void ForwardByRows<T>(ReadOnlySpan<T> a, Span<T> x, int n, int k, bool unit)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
        {
            var rowA = a.Slice(i * n, n);
            if (k == 1)
            {
                T s = x[i] - TensorPrimitives.Dot<T>(rowA[..i], x[..i]);
                x[i] = unit ? s : s / rowA[i];
                continue;
            }
            var xi = x.Slice(i * k, k);
            for (int j = 0; j < i; j++)
                if (rowA[j] != T.Zero) TensorPrimitives.MultiplyAdd<T>(x.Slice(j * k, k), -rowA[j], xi, xi);
            if (!unit) TensorPrimitives.Divide<T>(xi, rowA[i], xi);
        }
    }

    // A upper: X[i] = (B[i] − Σ_{j>i} A[i,j]·X[j]) / A[i,i], from the last row up.
    private static void BackwardByRows<T>(ReadOnlySpan<T> a, Span<T> x, int n, int k, bool unit)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = n - 1; i >= 0; i--)
        {
            var rowA = a.Slice(i * n, n);
            if (k == 1)
            {
                T s = x[i] - TensorPrimitives.Dot<T>(rowA[(i + 1)..], x[(i + 1)..n]);
                x[i] = unit ? s : s / rowA[i];
                continue;
            }
            var xi = x.Slice(i * k, k);
            for (int j = i + 1; j < n; j++)
                if (rowA[j] != T.Zero) TensorPrimitives.MultiplyAdd<T>(x.Slice(j * k, k), -rowA[j], xi, xi);
            if (!unit) TensorPrimitives.Divide<T>(xi, rowA[i], xi);
        }
    }

    // Aᵀ with A lower is upper: finish X[i] from the bottom, then remove its share A[i,j]·X[i] from rows j < i.
    private static void BackwardByColumns<T>(ReadOnlySpan<T> a, Span<T> x, int n, int k, bool unit)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = n - 1; i >= 0; i--)
        {
            var rowA = a.Slice(i * n, n);
            if (k == 1)
            {
                if (!unit) x[i] /= rowA[i];
                if (i > 0) TensorPrimitives.MultiplyAdd<T>(rowA[..i], -x[i], x[..i], x[..i]);
                continue;
            }
            var xi = x.Slice(i * k, k);
            if (!unit) TensorPrimitives.Divide<T>(xi, rowA[i], xi);
            for (int j = 0; j < i; j++)
                if (rowA[j] != T.Zero) TensorPrimitives.MultiplyAdd<T>(xi, -rowA[j], x.Slice(j * k, k), x.Slice(j * k, k));
        }
    }

    // Aᵀ with A upper is lower: finish X[i] from the top, then remove A[i,j]·X[i] from rows j > i.
    private static void ForwardByColumns<T>(ReadOnlySpan<T> a, Span<T> x, int n, int k, bool unit)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
        {
            var rowA = a.Slice(i * n, n);
            if (k == 1)
            {
                if (!unit) x[i] /= rowA[i];
                if (i < n - 1) TensorPrimitives.MultiplyAdd<T>(rowA[(i + 1)..], -x[i], x[(i + 1)..n], x[(i + 1)..n]);
                continue;
            }
            var xi = x.Slice(i * k, k);
            if (!unit) TensorPrimitives.Divide<T>(xi, rowA[i], xi);
            for (int j = i + 1; j < n; j++)
                if (rowA[j] != T.Zero) TensorPrimitives.MultiplyAdd<T>(xi, -rowA[j], x.Slice(j * k, k), x.Slice(j * k, k));
        }
    }
}
