using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>
/// Closed-form dynamics for eight examples at once, one per Vector512 lane: the same function as
/// <see cref="IAnalyticDynamics.Step"/> (equal up to rounding: vector sin/cos may differ from Math's in the last bit).
/// The solver's line search uses it when the dynamics implement it (one control, 512-bit SIMD).
/// </summary>
public interface IAnalyticDynamicsLanes
{
    /// <summary>next = f(x, u) per lane; x [n], u [m], next [n] vectors.</summary>
    void StepLanes(ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u, Span<Vector512<double>> next);
}

/// <summary>Closed-form costs for eight examples at once, one per lane: the values of <see cref="IAnalyticCost"/>.</summary>
public interface IAnalyticCostLanes
{
    /// <summary>ℓ(x, u, t) per lane.</summary>
    Vector512<double> StageLanes(int t, ReadOnlySpan<Vector512<double>> x, ReadOnlySpan<Vector512<double>> u);

    /// <summary>ℓ_T(x) per lane.</summary>
    Vector512<double> TerminalLanes(ReadOnlySpan<Vector512<double>> x);
}
