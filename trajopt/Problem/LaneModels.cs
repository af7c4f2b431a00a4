using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>
/// Closed-form dynamics for eight examples at once, one per Vector512 lane: the function and Jacobians of
/// <see cref="IAnalyticDynamics.Step"/>, rounding exactly as Step does (use <see cref="LaneMath"/> for sin/cos), so
/// an example's solve does not depend on the batch it is in. The solver's per-example path uses it when the dynamics implement it (one control, 512-bit SIMD).
/// </summary>
public interface IAnalyticDynamicsLanes
{
    /// <summary>next = f(x, u) per lane (x [n], u [m], next [n] vectors); when a/b are not empty also A [n×n] and B [n×m].</summary>
    void StepLanes(ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u, Span<Vector512<double>> next,
        Span<Vector512<double>> a, Span<Vector512<double>> b);
}

/// <summary>Closed-form costs for eight examples at once, one per lane: the values of <see cref="IAnalyticCost"/>.</summary>
public interface IAnalyticCostLanes
{
    /// <summary>ℓ(x, u, t) per lane; when gx is not empty also gx [n], gu [m], hxx [n×n], huu [m×m], hux [m×n].</summary>
    Vector512<double> StageLanes(int t, ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u,
        Span<Vector512<double>> gx, Span<Vector512<double>> gu, Span<Vector512<double>> hxx, Span<Vector512<double>> huu, Span<Vector512<double>> hux);

    /// <summary>ℓ_T(x) per lane; when gx is not empty also gx [n] and hxx [n×n].</summary>
    Vector512<double> TerminalLanes(ReadOnlySpan<Vector512<double>> x, Span<Vector512<double>> gx, Span<Vector512<double>> hxx);
}
