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
/// curvature goes into them (no copy): <see cref="Value"/> (at construction), <see cref="AddCurvature"/>, <see cref="Attach"/>.
/// Each of the first two is one pass per example over the horizon (the costate λ̄ recomputed, cheaper than stored),
/// large batches split over both cores.
/// </summary>
internal sealed class ClosedFormCostGradient : CpuParallelWork
{
    private readonly Linearization _lin;
    private readonly double[] _xs, _us;
    private readonly IAnalyticDynamicsCurvature _curvature;
    // Targets of the running pass: null for the value pass.
    private double[]? _hxx, _huu, _hux;

    /// <summary>lin: A, Bu and the cost derivatives along the solution. Computes <see cref="Value"/>.</summary>
    public ClosedFormCostGradient(Linearization lin, IlqrResult solution, IAnalyticDynamicsCurvature curvature)
    {
        _lin = lin; _xs = solution.XFlat; _us = solution.UFlat; _curvature = curvature;
        Value = new double[lin.Batch * lin.Horizon * lin.M];
        RunPass();
    }

    /// <summary>g's value [B·T·m]: ∇_uℓ_t + B_tᵀλ̄_{t+1}.</summary>
    public double[] Value { get; }

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
        int B = lin.Batch, T = lin.Horizon, n = lin.N, m = lin.M;
        var lam = new double[(T + 1) * n];
        var scratchUu = _huu is null ? new double[m * m] : null;
        for (int b = part * B / parts, end = (part + 1) * B / parts; b < end; b++)
        {
            // Costate λ̄_T = ∇ℓ_T, λ̄_t = ∇_xℓ_t + A_tᵀλ̄_{t+1}.
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
            for (int t = 0; t < T; t++)
            {
                int r = b * T + t, xo = (b * (T + 1) + t) * n;
                var next = lam.AsSpan((t + 1) * n, n);
                if (_hxx is null)
                {
                    var bu = lin.BSpan(b, t); var lu = lin.LuSpan(b, t);
                    for (int i = 0; i < m; i++)
                    {
                        double acc = lu[i];
                        for (int j = 0; j < n; j++) acc += bu[j * m + i] * next[j];
                        Value[r * m + i] = acc;
                    }
                }
                else
                {
                    var huu = _huu is null ? scratchUu : _huu.AsSpan(r * m * m, m * m);
                    _curvature.AddCurvature(_xs.AsSpan(xo, n), _us.AsSpan(r * m, m), next,
                        _hxx.AsSpan(xo * n, n * n), huu, _hux!.AsSpan(r * m * n, m * n));
                }
            }
        }
    }
}
