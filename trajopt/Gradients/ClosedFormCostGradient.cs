using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// g = ∇_U J [B,T,m] at an iLQR solution for problems whose models capture no parameters and have closed-form
/// derivatives, the dynamics' costate-weighted curvature included (<see cref="IAnalyticDynamicsCurvature"/>). Then
/// only x0 moves g: d = States(x0 − x̄0), and the Lagrangian Σ ℓ_t + λ̄_{t+1}·f_t + ℓ_T is quadratic to first order in
/// d, so the gradient pieces of <see cref="LinearizedCostGradient"/> become G − value = H_xx d and
/// GU = ∇_uℓ_t + B_tᵀλ̄_{t+1} + H_ux d, with H = ∇²ℓ + Σ_i λ̄_{t+1,i} ∇²f_i. That has the same first derivatives as
/// differentiating the Var dynamics twice, without running them (<see cref="ClosedFormGradientAdjoint"/>).
/// In three steps, so that the implicit backward can run its Riccati sweep on lin's cost Hessians before the
/// curvature goes into them (no copy): the value, the curvature, the graph (<see cref="Attach"/>). The first two are
/// one pass per example over the horizon (the costate λ̄ recomputed, cheaper than stored), over the whole batch
/// (<see cref="ComputeValue"/>, <see cref="AddCurvature"/>: large batches split over both cores) or over a range of
/// examples (<see cref="Values"/>, <see cref="Curvature"/>: for a caller that runs its own pass per example group).
/// </summary>
internal sealed class ClosedFormCostGradient : CpuParallelWork
{
    private readonly Linearization _lin;
    private readonly double[] _xs, _us;
    private readonly IAnalyticDynamicsCurvature _curvature;
    // Targets of the running pass: null for the value pass.
    private double[]? _hxx, _huu, _hux;

    /// <summary>lin: A, Bu and the cost derivatives along the solution (filled before <see cref="ComputeValue"/> or <see cref="Values"/>).</summary>
    public ClosedFormCostGradient(Linearization lin, IlqrResult solution, IAnalyticDynamicsCurvature curvature)
    {
        _lin = lin; _xs = solution.XFlat; _us = solution.UFlat; _curvature = curvature;
        Value = new double[lin.Batch * lin.Horizon * lin.M];
    }

    /// <summary>g's value [B·T·m]: ∇_uℓ_t + B_tᵀλ̄_{t+1} (after <see cref="ComputeValue"/>, or <see cref="Values"/> on every example).</summary>
    public double[] Value { get; }

    /// <summary>Fills <see cref="Value"/> for the whole batch.</summary>
    public void ComputeValue() => RunPass();

    /// <summary>
    /// Adds Σ_i λ̄_{t+1,i} ∇²f_i (t &lt; T) to blocks laid out as lin.Lxx, lin.Luu (null: not wanted) and lin.Lux;
    /// given lin's own, they become the Hessians of the Lagrangian.
    /// </summary>
    public void AddCurvature(double[] hxx, double[]? huu, double[] hux)
    {
        _hxx = hxx; _huu = huu; _hux = hux;
        try { RunPass(); }
        finally { _hxx = _huu = _hux = null; }
    }

    /// <summary>g as a Var: its value, recorded as a function of x0 whose first derivatives are exact (hxx, hux: the Lagrangian's Hessians).</summary>
    public Var Attach(Var x0, double[] hxx, double[] hux)
    {
        var lin = _lin;
        var value = Tensor.FromDoubles(Value, new Shape(lin.Batch, lin.Horizon, lin.M), x0.DType, x0.Device);
        using (Autograd.EnableGrad())
            return new ClosedFormGradientAdjoint(lin, hxx, hux).Record(value, x0);
    }

    // Both cores only when each part has enough examples (one is a few µs).
    private void RunPass()
    {
        if (_lin.Batch >= 32 && Threads > 1) Run(2);
        else Execute(0, 1);
    }

    public override void Execute(int part, int parts)
    {
        var lin = _lin;
        int B = lin.Batch, b0 = part * B / parts, b1 = (part + 1) * B / parts;
        var lam = new double[(lin.Horizon + 1) * lin.N];
        if (_hxx is null) Values(b0, b1, lam);
        else Curvature(b0, b1, _hxx, _huu, _hux!, lam, new double[lin.M * lin.M]);
    }

    /// <summary><see cref="Value"/> of examples b0..b1−1; lam [(T+1)·n] is scratch.</summary>
    public void Values(int b0, int b1, double[] lam)
    {
        var lin = _lin;
        int T = lin.Horizon, n = lin.N, m = lin.M;
        for (int b = b0; b < b1; b++)
        {
            Costates(b, lam);
            for (int t = 0; t < T; t++)
            {
                var bu = lin.BSpan(b, t); var lu = lin.LuSpan(b, t); var next = lam.AsSpan((t + 1) * n, n);
                for (int i = 0; i < m; i++)
                {
                    double acc = lu[i];
                    for (int j = 0; j < n; j++) acc += bu[j * m + i] * next[j];
                    Value[(b * T + t) * m + i] = acc;
                }
            }
        }
    }

    /// <summary><see cref="AddCurvature"/> for examples b0..b1−1 (huu null: into scratchUu [m·m]); lam [(T+1)·n] is scratch.</summary>
    public void Curvature(int b0, int b1, double[] hxx, double[]? huu, double[] hux, double[] lam, double[] scratchUu)
    {
        var lin = _lin;
        int T = lin.Horizon, n = lin.N, m = lin.M;
        for (int b = b0; b < b1; b++)
        {
            Costates(b, lam);
            for (int t = 0; t < T; t++)
            {
                int r = b * T + t, xo = (b * (T + 1) + t) * n;
                _curvature.AddCurvature(_xs.AsSpan(xo, n), _us.AsSpan(r * m, m), lam.AsSpan((t + 1) * n, n),
                    hxx.AsSpan(xo * n, n * n), huu is null ? scratchUu : huu.AsSpan(r * m * m, m * m), hux.AsSpan(r * m * n, m * n));
            }
        }
    }

    /// <summary>Example b's costate λ̄_T = ∇ℓ_T, λ̄_t = ∇_xℓ_t + A_tᵀλ̄_{t+1} into lam [(T+1)·n].</summary>
    private void Costates(int b, double[] lam)
    {
        var lin = _lin;
        int T = lin.Horizon, n = lin.N;
        lin.LxSpan(b, T).CopyTo(lam.AsSpan(T * n, n));
        for (int t = T - 1; t >= 0; t--)
        {
            var a = lin.ASpan(b, t); var next = lam.AsSpan((t + 1) * n, n); var mu = lam.AsSpan(t * n, n);
            lin.LxSpan(b, t).CopyTo(mu);
            for (int j = 0; j < n; j++)
            {
                double lj = next[j];
                for (int i = 0; i < n; i++) mu[i] += a[j * n + i] * lj;
            }
        }
    }
}
