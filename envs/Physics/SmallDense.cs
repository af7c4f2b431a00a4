namespace DiffTori.Envs.Physics;

/// <summary>Cholesky factor and solve for tiny symmetric positive definite matrices held in spans.</summary>
public static class SmallDense
{
    /// <summary>Overwrites the lower triangle of row-major <paramref name="m"/> (n×n) with L, where M = L·Lᵀ.</summary>
    public static void CholeskyInPlace(Span<double> m, int n, string caller)
    {
        for (int j = 0; j < n; j++)
        {
            double d = m[j * n + j];
            for (int k = 0; k < j; k++) d -= m[j * n + k] * m[j * n + k];
            if (!(d > 0))
                throw new InvalidOperationException($"{caller}: mass matrix is not positive definite (pivot {j} = {d}).");
            double l = Math.Sqrt(d);
            m[j * n + j] = l;
            for (int i = j + 1; i < n; i++)
            {
                double s = m[i * n + j];
                for (int k = 0; k < j; k++) s -= m[i * n + k] * m[j * n + k];
                m[i * n + j] = s / l;
            }
        }
    }

    /// <summary>Solves L·Lᵀ·x = b in place, with L from <see cref="CholeskyInPlace"/>.</summary>
    public static void CholeskySolveInPlace(ReadOnlySpan<double> l, int n, Span<double> b)
    {
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int k = 0; k < i; k++) s -= l[i * n + k] * b[k];
            b[i] = s / l[i * n + i];
        }
        for (int i = n - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
            b[i] = s / l[i * n + i];
        }
    }
}
