namespace DiffTori.TrajOpt;

public sealed partial class TrajProblem
{
    /// <summary>
    /// A copy whose analytic dynamics give the step and Jacobians only, hiding any closed-form curvature
    /// (<see cref="IAnalyticDynamicsCurvature"/>): the implicit backward then differentiates the Var dynamics
    /// twice, as a problem without the closed form does. The reference for the closed-form path in tests, and
    /// the like-for-like row against PyTorch's double backward in the benchmark.
    /// </summary>
    public TrajProblem WithoutClosedFormCurvature()
    {
        var copy = new TrajProblem(StateDim, ControlDim, Horizon, Dynamics, StageCost, TerminalCost)
        {
            AnalyticDynamics = AnalyticDynamics is null ? null : new JacobiansOnly(AnalyticDynamics),
            AnalyticCost = AnalyticCost,
            StageCostIgnoresTime = StageCostIgnoresTime,
        };
        return HasBounds ? copy.WithBounds(ControlLower!, ControlUpper!) : copy;
    }

    private sealed class JacobiansOnly(IAnalyticDynamics inner) : IAnalyticDynamics
    {
        public void Step(ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> next, Span<double> a, Span<double> b) =>
            inner.Step(x, u, next, a, b);
    }
}
