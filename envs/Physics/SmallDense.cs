using DiffTori.Engine;

namespace DiffTori.Envs.Physics;

/// <summary>Cholesky factor and solve for tiny symmetric positive definite matrices held in spans.</summary>
public static class SmallDense
{
    /// <summary>Overwrites <paramref name="m"/> (row-major n×n) with L, where M = L·Lᵀ; throws, naming the caller, when M is not positive definite.</summary>
    public static void CholeskyInPlace(Span<double> m, int n, string caller)
    {
        int failed = SmallCholesky.Factor(m, n);
        if (failed >= 0)
            throw new InvalidOperationException($"{caller}: mass matrix is not positive definite (pivot {failed} = {SmallCholesky.PivotAt(m, n, failed)}).");
    }

    /// <summary>Solves L·Lᵀ·x = b in place, with L from <see cref="CholeskyInPlace"/>.</summary>
    public static void CholeskySolveInPlace(ReadOnlySpan<double> l, int n, Span<double> b) => SmallCholesky.Solve(l, n, b);
}
