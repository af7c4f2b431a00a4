using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// The cost's (or the whole Lagrangian's) second-order terms along a trajectory as differentiable linear ops on state perturbations d [B,T+1,n]:
///   StateTerms:   d ↦ ℓ_xx,t d_t    [B,T+1,n] (t = T the terminal Hessian)
///   ControlTerms: d ↦ ℓ_ux,t d_t    [B,T,m]
/// each with its transpose as a second op, so that a createGraph pass can differentiate them again. They stand in
/// for differentiating the Var cost a second time when its closed-form derivatives are known and it captures no
/// parameters (then ∇ℓ(x̄ + d) = ∇ℓ(x̄) + ∇²ℓ d to first order exactly). The Hessians are copied unless the
/// caller promises to leave lin as it is (it may add the dynamics' curvature afterwards).
/// </summary>
internal sealed class CostCurvature
{
    private readonly double[] _lxx, _lux;
    private readonly int _B, _T, _n, _m;

    public CostCurvature(Linearization lin, bool copy = true)
        : this(copy ? (double[])lin.Lxx.Clone() : lin.Lxx, copy ? (double[])lin.Lux.Clone() : lin.Lux, lin.Batch, lin.Horizon, lin.N, lin.M) { }

    /// <summary>Given blocks in the layout of <see cref="Linearization.Lxx"/> and <see cref="Linearization.Lux"/> (kept, not copied).</summary>
    public CostCurvature(double[] lxx, double[] lux, int batch, int horizon, int n, int m)
    {
        _lxx = lxx; _lux = lux;
        _B = batch; _T = horizon; _n = n; _m = m;
    }

    /// <summary>ℓ_xx,t d_t (or ℓ_xx,tᵀ d_t when transposed).</summary>
    public Var StateTerms(Var d, bool transposed = false) =>
        HostDoubles.RecordLinear("CostCurvature.StateTerms", "cost_state_terms", d, StateShape, StateShape,
            (dv, y) => StateTermsKernel(dv, transposed, y), g => StateTerms(g, !transposed));

    /// <summary>ℓ_ux,t d_t for t &lt; T.</summary>
    public Var ControlTerms(Var d) =>
        HostDoubles.RecordLinear("CostCurvature.ControlTerms", "cost_control_terms", d, StateShape, ControlShape,
            ControlTermsKernel, ControlTermsTransposed);

    /// <summary>ℓ_ux,tᵀ c_t for t &lt; T, zero at t = T: the transpose of <see cref="ControlTerms"/>.</summary>
    public Var ControlTermsTransposed(Var c) =>
        HostDoubles.RecordLinear("CostCurvature.ControlTermsTransposed", "cost_control_terms_t", c, ControlShape, StateShape,
            ControlTermsTransposedKernel, ControlTerms);

    private void StateTermsKernel(ReadOnlySpan<double> dv, bool transposed, Span<double> y)
    {
        int n = _n, nn = n * n, rows = _B * (_T + 1);
        for (int r = 0; r < rows; r++)
        {
            var h = _lxx.AsSpan(r * nn, nn); var x = dv.Slice(r * n, n); var o = y.Slice(r * n, n);
            for (int i = 0; i < n; i++)
            {
                double acc = 0;
                for (int j = 0; j < n; j++) acc += (transposed ? h[j * n + i] : h[i * n + j]) * x[j];
                o[i] = acc;
            }
        }
    }

    private void ControlTermsKernel(ReadOnlySpan<double> dv, Span<double> c)
    {
        int T = _T, n = _n, m = _m;
        for (int b = 0; b < _B; b++)
            for (int t = 0; t < T; t++)
            {
                var h = _lux.AsSpan((b * T + t) * m * n, m * n); var x = dv.Slice((b * (T + 1) + t) * n, n);
                for (int i = 0; i < m; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += h[i * n + j] * x[j];
                    c[(b * T + t) * m + i] = acc;
                }
            }
    }

    private void ControlTermsTransposedKernel(ReadOnlySpan<double> cv, Span<double> y)
    {
        int T = _T, n = _n, m = _m;
        for (int b = 0; b < _B; b++)
        {
            for (int t = 0; t < T; t++)
            {
                var h = _lux.AsSpan((b * T + t) * m * n, m * n); var o = y.Slice((b * (T + 1) + t) * n, n);
                o.Clear();
                for (int i = 0; i < m; i++)
                {
                    double ci = cv[(b * T + t) * m + i];
                    for (int j = 0; j < n; j++) o[j] += h[i * n + j] * ci;
                }
            }
            y.Slice((b * (T + 1) + T) * n, n).Clear();
        }
    }

    private Shape StateShape => new(_B, _T + 1, _n);
    private Shape ControlShape => new(_B, _T, _m);
}
