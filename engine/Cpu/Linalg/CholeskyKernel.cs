using System.Numerics;
using System.Numerics.Tensors;

namespace DiffTori.Engine;

/// <summary>
/// Cholesky factorization of one row-major n×n matrix, row by row (Cholesky–Banachiewicz):
/// L[i,j] = (A[i,j] − L[i,:j]·L[j,:j]) / L[j,j], so the inner work is a dot product of two
/// contiguous row prefixes, which TensorPrimitives vectorizes. Reads A's lower triangle only; a and l
/// may be the same memory.
/// </summary>
internal static class CholeskyKernel
{
    /// <summary>Writes L (upper triangle zeroed); returns 0, or the 1-based index of the first non-positive pivot.</summary>
    public static int Factor<T>(ReadOnlySpan<T> a, Span<T> l, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < n; i++)
        {
            var rowI = l.Slice(i * n, n);
            for (int j = 0; j < i; j++)
            {
                T s = a[i * n + j] - TensorPrimitives.Dot<T>(rowI[..j], l.Slice(j * n, j));
                rowI[j] = s / l[j * n + j];
            }
            T d = a[i * n + i] - TensorPrimitives.Dot<T>(rowI[..i], rowI[..i]);
            if (!(d > T.Zero))
            {
                // Not positive definite (or NaN): report the pivot and leave defined zeros behind.
                l[(i * n)..(n * n)].Clear();
                return i + 1;
            }
            rowI[i] = T.Sqrt(d);
            rowI[(i + 1)..].Clear();
        }
        return 0;
    }
}
