namespace DiffTori.TrajOpt;

/// <summary>
/// A graph-free evaluation of a scalar residual r(u) (R = 1) and its gradient ∂r/∂u for examples of the
/// batch, for <see cref="LevenbergMarquardt"/>'s unrecorded iterations. It must compute the same function
/// as the <see cref="ResidualFn"/> it accompanies (up to rounding); that function stays the truth for the
/// recorded iterations and for every gradient in the model's parameters, unless the kernel also implements
/// <see cref="ISecondOrderScalarKernel"/>.
/// </summary>
public interface IScalarResidualKernel
{
    /// <summary>Length D of one example's u.</summary>
    int Dim { get; }

    /// <summary>
    /// r(u) for the examples first … first + count − 1 at once (u [count, D] → residuals [count]), and ∂r/∂u into
    /// gradients [count, D] unless it is empty. An example's values must not depend on which others share the call.
    /// </summary>
    void Evaluate(int first, int count, ReadOnlySpan<float> u, Span<float> residuals, Span<float> gradients);

    /// <summary>r(u) for one example; writes ∂r/∂u into <paramref name="gradient"/> unless it is empty.</summary>
    float Evaluate(int example, ReadOnlySpan<float> u, Span<float> gradient)
    {
        Span<float> r = stackalloc float[1];
        Evaluate(example, 1, u, r, gradient);
        return r[0];
    }
}
