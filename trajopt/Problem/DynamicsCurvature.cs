namespace DiffTori.TrajOpt;

/// <summary>
/// Closed-form second derivatives of the dynamics of one example, weighted by a costate: Σ_i λ_i ∇²f_i(x, u).
/// Optional, on the same object as <see cref="IAnalyticDynamics"/>. The implicit backward needs exactly this product
/// (the first derivatives of ∇_U J wrt x0 go through the dynamics' curvature): with it, it skips differentiating the
/// Var dynamics twice whenever they capture no parameters. It must agree with the Var dynamics.
/// </summary>
public interface IAnalyticDynamicsCurvature
{
    /// <summary>Adds Σ_i λ_i ∂²f_i to hxx [n×n] (∂x∂x), huu [m×m] (∂u∂u) and hux [m×n] (row: u_i, column: x_j).</summary>
    void AddCurvature(ReadOnlySpan<double> x, ReadOnlySpan<double> u, ReadOnlySpan<double> lambda,
        Span<double> hxx, Span<double> huu, Span<double> hux);
}
