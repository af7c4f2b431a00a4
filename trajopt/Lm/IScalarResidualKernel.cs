namespace DiffTori.TrajOpt;

/// <summary>
/// A graph-free evaluation of a scalar residual r(u) (R = 1) and its gradient ∂r/∂u for one example of the
/// batch, for <see cref="LevenbergMarquardt"/>'s unrecorded iterations. It must compute the same function
/// as the <see cref="ResidualFn"/> it accompanies (up to rounding); that function stays the truth for the
/// recorded iterations and for every gradient in the model's parameters.
/// </summary>
public interface IScalarResidualKernel
{
    /// <summary>Length D of one example's u.</summary>
    int Dim { get; }

    /// <summary>r(u) for example <paramref name="example"/>; writes ∂r/∂u into <paramref name="gradient"/> unless it is empty.</summary>
    float Evaluate(int example, ReadOnlySpan<float> u, Span<float> gradient);
}
