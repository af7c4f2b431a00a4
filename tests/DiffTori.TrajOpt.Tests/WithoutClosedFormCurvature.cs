using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// A problem as given but with analytic dynamics that give the step and Jacobians only (no closed-form curvature),
/// so the implicit backward differentiates the Var dynamics instead: the reference for the closed-form paths.
/// </summary>
internal static class WithoutClosedFormCurvature
{
    public static TrajProblem Of(TrajProblem p)
    {
        var q = new TrajProblem(p.StateDim, p.ControlDim, p.Horizon, p.Dynamics, p.StageCost, p.TerminalCost)
        { AnalyticDynamics = new JacobiansOnly(p.AnalyticDynamics!), AnalyticCost = p.AnalyticCost, StageCostIgnoresTime = p.StageCostIgnoresTime };
        return p.HasBounds ? q.WithBounds(p.ControlLower!, p.ControlUpper!) : q;
    }

    private sealed class JacobiansOnly(IAnalyticDynamics inner) : IAnalyticDynamics
    {
        public void Step(ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> next, Span<double> a, Span<double> b) => inner.Step(x, u, next, a, b);
    }
}
