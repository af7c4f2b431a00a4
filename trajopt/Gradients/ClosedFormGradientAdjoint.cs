using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// The x0-derivative of the closed-form g (<see cref="ClosedFormCostGradient"/>) as one recorded op. g depends on x0
/// through g = value + H_ux d + ControlsOfCostates(H_xx d), d = States(x0 − x̄0), whose forward values are all zero,
/// so only the transpose is computed: for r = ∂L/∂g [B,T,m],
///   s = StatesOfControls(r) (s_0 = 0, s_{t+1} = A_t s_t + B_t r_t),  y_t = H_xx,tᵀ s_t + H_ux,tᵀ r_t (y_T = H_xx,Tᵀ s_T),
///   μ = Costates(y) (μ_T = y_T, μ_t = y_t + A_tᵀ μ_{t+1}),  ∂L/∂x0 = μ_0.
/// Plain backward runs it per example on flat doubles (large batches over both cores); a createGraph backward
/// composes the same maps from the differentiable ops of <see cref="LinearizedSweeps"/> and <see cref="CostCurvature"/>.
/// </summary>
internal sealed class ClosedFormGradientAdjoint : CpuParallelWork
{
    private readonly Linearization _lin;
    private readonly double[] _hxx, _hux;
    // The running backward: its input r and output ∂L/∂x0.
    private Tensor? _r, _x0Bar;

    /// <summary>hxx, hux: the Lagrangian's Hessians in the layout of lin.Lxx and lin.Lux.</summary>
    public ClosedFormGradientAdjoint(Linearization lin, double[] hxx, double[] hux)
    {
        _lin = lin; _hxx = hxx; _hux = hux;
    }

    /// <summary>g [B,T,m] with the given value, recorded as a function of x0 [B,n].</summary>
    public Var Record(Tensor value, Var x0) => Autograd.RecordOp("closed_form_cost_gradient", value, x0, (_, r) => Transpose(r, x0));

    private Var Transpose(Var r, Var x0)
    {
        var lin = _lin;
        if (Autograd.IsGradEnabled && r.RequiresGrad)
        {
            var h = new CostCurvature(_hxx, _hux, lin.Batch, lin.Horizon, lin.N, lin.M);
            var sweeps = new LinearizedSweeps(lin);
            return F.Select(sweeps.Costates(h.ControlTermsTransposed(r) + h.StateTerms(sweeps.StatesOfControls(r), transposed: true)), 1, 0);
        }
        // The pass reads r and writes ∂L/∂x0 as host float64 tensors (r's own when it is one), shared with the worker.
        var shape = new Shape(lin.Batch, lin.N);
        var rv = r.Value;
        _r = rv.DType == DType.Float64 && rv.Device.IsCpu && rv.IsContiguous ? rv : Tensor.FromDoubles(rv.ToDoubleArray(), rv.Shape, DType.Float64);
        _x0Bar = Tensor.Empty(shape, DType.Float64);
        var x0Bar = _x0Bar;
        try
        {
            if (lin.Batch >= 32 && Threads > 1) Run(2);
            else Execute(0, 1);
        }
        finally { _r = _x0Bar = null; }
        return new Var(x0.DType == DType.Float64 && x0.Device.IsCpu ? x0Bar : Tensor.FromDoubles(x0Bar.ToDoubleArray(), shape, x0.DType, x0.Device));
    }

    public override void Execute(int part, int parts)
    {
        var lin = _lin;
        int B = lin.Batch, T = lin.Horizon, n = lin.N, m = lin.M, nn = n * n;
        ReadOnlySpan<double> r = _r!.AsSpan<double>(); var x0Bar = _x0Bar!.AsSpan<double>();
        var s = new double[(T + 1) * n];
        var mu = new double[n]; var y = new double[n];
        for (int b = part * B / parts, end = (part + 1) * B / parts; b < end; b++)
        {
            // s forward in time.
            s.AsSpan(0, n).Clear();
            for (int t = 0; t < T; t++)
            {
                var a = lin.ASpan(b, t); var bu = lin.BSpan(b, t); var rt = r.Slice((b * T + t) * m, m);
                var st = s.AsSpan(t * n, n); var next = s.AsSpan((t + 1) * n, n);
                for (int i = 0; i < n; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += a[i * n + j] * st[j];
                    for (int j = 0; j < m; j++) acc += bu[i * m + j] * rt[j];
                    next[i] = acc;
                }
            }
            // μ backward in time, y_t formed on the way.
            MulTransposed(_hxx.AsSpan((b * (T + 1) + T) * nn, nn), s.AsSpan(T * n, n), mu, n);
            for (int t = T - 1; t >= 0; t--)
            {
                MulTransposed(_hxx.AsSpan((b * (T + 1) + t) * nn, nn), s.AsSpan(t * n, n), y, n);
                var hux = _hux.AsSpan((b * T + t) * m * n, m * n); var rt = r.Slice((b * T + t) * m, m);
                for (int k = 0; k < m; k++)
                    for (int i = 0; i < n; i++) y[i] += hux[k * n + i] * rt[k];
                var a = lin.ASpan(b, t);
                for (int j = 0; j < n; j++)
                    for (int i = 0; i < n; i++) y[i] += a[j * n + i] * mu[j];
                y.CopyTo(mu, 0);
            }
            mu.CopyTo(x0Bar.Slice(b * n, n));
        }
    }

    /// <summary>dst = hᵀ·v for a row-major n×n h.</summary>
    private static void MulTransposed(ReadOnlySpan<double> h, ReadOnlySpan<double> v, Span<double> dst, int n)
    {
        dst.Clear();
        for (int j = 0; j < n; j++)
        {
            double vj = v[j];
            for (int i = 0; i < n; i++) dst[i] += h[j * n + i] * vj;
        }
    }
}
