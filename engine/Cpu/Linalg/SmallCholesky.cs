namespace DiffTori.Engine;

/// <summary>
/// Cholesky factor and solve of one tiny symmetric positive definite matrix (n up to a few dozen) held in a
/// row-major span: the per-step algebra of the solvers (Q_uu of a Riccati step) and of the physics (the
/// mass matrix). Plain scalar loops in a fixed order, so every caller gets the same bits; at these sizes a
/// vectorized dot would cost more than it saves.
/// </summary>
public static class SmallCholesky
{
    /// <summary>
    /// Overwrites a with L (A = L·Lᵀ, upper triangle zeroed). Returns −1 on success, else the index of the
    /// first pivot that is not positive and finite (a is then partly overwritten).
    /// </summary>
    public static int Factor(Span<double> a, int n)
    {
        for (int j = 0; j < n; j++)
        {
            double d = a[j * n + j];
            for (int p = 0; p < j; p++) d -= a[j * n + p] * a[j * n + p];
            // !(d > 0) also catches NaN; an infinite pivot would spread infinities through the solve.
            if (!(d > 0) || double.IsInfinity(d)) return j;
            d = Math.Sqrt(d);
            a[j * n + j] = d;
            for (int i = j + 1; i < n; i++)
            {
                double s = a[i * n + j];
                for (int p = 0; p < j; p++) s -= a[i * n + p] * a[j * n + p];
                a[i * n + j] = s / d;
            }
            for (int i = 0; i < j; i++) a[i * n + j] = 0;
        }
        return -1;
    }

    /// <summary>The pivot value that made <see cref="Factor"/> fail at index j, for error messages.</summary>
    public static double PivotAt(ReadOnlySpan<double> partlyFactored, int n, int j)
    {
        double d = partlyFactored[j * n + j];
        for (int p = 0; p < j; p++) d -= partlyFactored[j * n + p] * partlyFactored[j * n + p];
        return d;
    }

    /// <summary>Solves L·Lᵀ·x = b in place (x holds b on entry), with L from <see cref="Factor"/>.</summary>
    public static void Solve(ReadOnlySpan<double> l, int n, Span<double> x)
    {
        for (int i = 0; i < n; i++)
        {
            double s = x[i];
            for (int p = 0; p < i; p++) s -= l[i * n + p] * x[p];
            x[i] = s / l[i * n + i];
        }
        for (int i = n - 1; i >= 0; i--)
        {
            double s = x[i];
            for (int p = i + 1; p < n; p++) s -= l[p * n + i] * x[p];
            x[i] = s / l[i * n + i];
        }
    }
}
