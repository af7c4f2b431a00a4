using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// The linear recursions of the implicit backward along a linearization (A_t = ∂f/∂x, B_t = ∂f/∂u), each one
/// differentiable op over the whole batch and horizon instead of T small Var ops per recursion. They come in
/// transposed pairs, and each op's backward is its partner, so a createGraph pass can differentiate them again:
///   States:    s_0 = y_0,  s_{t+1} = A_t s_t + y_{t+1}            [B,T+1,n] (or y [B,n]: y_0 only) → [B,T+1,n]
///   Costates:  μ_T = y_T,  μ_t = y_t + A_tᵀ μ_{t+1}               [B,T+1,n] → [B,T+1,n]
///   ControlsOfCostates: μ as above (y_0 unused), c_t = B_tᵀ μ_{t+1}   [B,T+1,n] → [B,T,m]
///   StatesOfControls:   s_0 = 0,  s_{t+1} = A_t s_t + B_t c_t        [B,T,m] → [B,T+1,n]
/// The kernels run per example on flat doubles (n, m are a few: tensor ops per step would cost far more than the arithmetic).
/// </summary>
internal sealed class LinearizedSweeps
{
    private readonly double[] _a, _bu;
    private readonly int _B, _T, _n, _m;

    public LinearizedSweeps(Linearization lin)
    {
        _a = lin.A; _bu = lin.Bu;
        _B = lin.Batch; _T = lin.Horizon; _n = lin.N; _m = lin.M;
    }

    /// <summary>States driven by y: y [B,T+1,n] injects at every step, y [B,n] only sets s_0.</summary>
    public Var States(Var y) => y.Shape.Rank == 2
        ? HostDoubles.RecordLinear("LinearizedSweeps.States", "sweep_states0", y, new Shape(_B, _n), StateShape,
            (v, s) => StatesKernel(v, initialOnly: true, s), g => F.Select(Costates(g), 1, 0))
        : HostDoubles.RecordLinear("LinearizedSweeps.States", "sweep_states", y, StateShape, StateShape,
            (v, s) => StatesKernel(v, initialOnly: false, s), Costates);

    /// <summary>Costates accumulating y backwards in time.</summary>
    public Var Costates(Var y) =>
        HostDoubles.RecordLinear("LinearizedSweeps.Costates", "sweep_costates", y, StateShape, StateShape, CostatesKernel, States);

    /// <summary>c_t = B_tᵀ μ_{t+1} with μ the costates of y.</summary>
    public Var ControlsOfCostates(Var y) =>
        HostDoubles.RecordLinear("LinearizedSweeps.ControlsOfCostates", "sweep_controls_of_costates", y, StateShape, ControlShape,
            ControlsOfCostatesKernel, StatesOfControls);

    /// <summary>States driven from rest by the controls c.</summary>
    public Var StatesOfControls(Var c) =>
        HostDoubles.RecordLinear("LinearizedSweeps.StatesOfControls", "sweep_states_of_controls", c, ControlShape, StateShape,
            StatesOfControlsKernel, ControlsOfCostates);

    private Shape StateShape => new(_B, _T + 1, _n);
    private Shape ControlShape => new(_B, _T, _m);

    internal void StatesKernel(ReadOnlySpan<double> y, bool initialOnly, Span<double> s)
    {
        int T = _T, n = _n, nn = n * n;
        for (int b = 0; b < _B; b++)
        {
            var sb = s.Slice(b * (T + 1) * n, (T + 1) * n);
            if (initialOnly) { y.Slice(b * n, n).CopyTo(sb); sb.Slice(n).Clear(); }
            else y.Slice(b * (T + 1) * n, (T + 1) * n).CopyTo(sb);
            var a = _a.AsSpan(b * T * nn, T * nn);
            for (int t = 0; t < T; t++)
            {
                // s_{t+1} (already holding y_{t+1}) += A_t s_t
                var at = a.Slice(t * nn, nn);
                var st = sb.Slice(t * n, n); var next = sb.Slice((t + 1) * n, n);
                for (int i = 0; i < n; i++)
                {
                    double acc = next[i];
                    for (int j = 0; j < n; j++) acc += at[i * n + j] * st[j];
                    next[i] = acc;
                }
            }
        }
    }

    internal void CostatesKernel(ReadOnlySpan<double> y, Span<double> mu)
    {
        int T = _T, n = _n, nn = n * n;
        y.Slice(0, _B * (T + 1) * n).CopyTo(mu);
        for (int b = 0; b < _B; b++)
        {
            var mb = mu.Slice(b * (T + 1) * n, (T + 1) * n);
            var a = _a.AsSpan(b * T * nn, T * nn);
            for (int t = T - 1; t >= 0; t--)
                AddTransposed(a.Slice(t * nn, nn), mb.Slice((t + 1) * n, n), mb.Slice(t * n, n), n);
        }
    }

    internal void ControlsOfCostatesKernel(ReadOnlySpan<double> y, Span<double> c)
    {
        int T = _T, n = _n, m = _m, nn = n * n;
        Span<double> mu = stackalloc double[n], prev = stackalloc double[n];
        for (int b = 0; b < _B; b++)
        {
            var yb = y.Slice(b * (T + 1) * n, (T + 1) * n);
            var a = _a.AsSpan(b * T * nn, T * nn);
            var bu = _bu.AsSpan(b * T * n * m, T * n * m);
            yb.Slice(T * n, n).CopyTo(mu);
            for (int t = T - 1; t >= 0; t--)
            {
                // here mu = μ_{t+1}
                var bt = bu.Slice(t * n * m, n * m);
                for (int i = 0; i < m; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += bt[j * m + i] * mu[j];
                    c[(b * T + t) * m + i] = acc;
                }
                if (t == 0) break;
                yb.Slice(t * n, n).CopyTo(prev);
                AddTransposed(a.Slice(t * nn, nn), mu, prev, n);
                prev.CopyTo(mu);
            }
        }
    }

    internal void StatesOfControlsKernel(ReadOnlySpan<double> c, Span<double> s)
    {
        int T = _T, n = _n, m = _m, nn = n * n;
        for (int b = 0; b < _B; b++)
        {
            var sb = s.Slice(b * (T + 1) * n, (T + 1) * n);
            sb.Slice(0, n).Clear();
            var a = _a.AsSpan(b * T * nn, T * nn);
            var bu = _bu.AsSpan(b * T * n * m, T * n * m);
            for (int t = 0; t < T; t++)
            {
                var at = a.Slice(t * nn, nn); var bt = bu.Slice(t * n * m, n * m);
                var st = sb.Slice(t * n, n); var ct = c.Slice((b * T + t) * m, m);
                var next = sb.Slice((t + 1) * n, n);
                for (int i = 0; i < n; i++)
                {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += at[i * n + j] * st[j];
                    for (int j = 0; j < m; j++) acc += bt[i * m + j] * ct[j];
                    next[i] = acc;
                }
            }
        }
    }

    /// <summary>dst += aᵀ·v for a row-major n×n a.</summary>
    private static void AddTransposed(ReadOnlySpan<double> a, ReadOnlySpan<double> v, Span<double> dst, int n)
    {
        for (int j = 0; j < n; j++)
        {
            double vj = v[j];
            var row = a.Slice(j * n, n);
            for (int i = 0; i < n; i++) dst[i] += row[i] * vj;
        }
    }
}
