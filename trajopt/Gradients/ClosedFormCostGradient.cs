using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// g = ∇_U J [B,T,m] at an iLQR solution for problems whose models capture no parameters and have closed-form
/// derivatives, the dynamics' costate-weighted curvature included (<see cref="IAnalyticDynamicsCurvature"/>). Then
/// only x0 moves g: d = States(x0 − x̄0), and the Lagrangian Σ ℓ_t + λ̄_{t+1}·f_t + ℓ_T is quadratic to first order in
/// d, so the gradient pieces of <see cref="LinearizedCostGradient"/> become G − value = H_xx d and
/// GU = ∇_uℓ_t + B_tᵀλ̄_{t+1} + H_ux d, with H = ∇²ℓ + Σ_i λ̄_{t+1,i} ∇²f_i. That has the same first derivatives as
/// differentiating the Var dynamics twice, without running them: per example, the costate λ̄, g's value and H come
/// from one pass over the horizon (large batches split over both cores), and the graph is four linear ops.
/// </summary>
internal sealed class ClosedFormCostGradient : CpuParallelWork
{
    private readonly Linearization _lin;
    private readonly double[] _xs, _us, _g, _hxx, _hux;
    private readonly IAnalyticDynamicsCurvature _curvature;

    private ClosedFormCostGradient(Linearization lin, IlqrResult solution, IAnalyticDynamicsCurvature curvature, bool withCurvature)
    {
        _lin = lin; _xs = solution.XFlat; _us = solution.UFlat; _curvature = curvature;
        _g = new double[lin.Batch * lin.Horizon * lin.M];
        _hxx = withCurvature ? new double[lin.Lxx.Length] : [];
        _hux = withCurvature ? new double[lin.Lux.Length] : [];
    }

    /// <summary>g with exact first derivatives wrt x0 (lin: A, Bu and the cost derivatives along the solution; left unchanged).</summary>
    public static Var Compute(Var x0, IlqrResult solution, Linearization lin, IAnalyticDynamicsCurvature curvature)
    {
        int B = lin.Batch, T = lin.Horizon, n = lin.N, m = lin.M;
        var job = new ClosedFormCostGradient(lin, solution, curvature, x0.RequiresGrad);
        // Both cores only when each part has enough examples (one is a few µs).
        if (B >= 32 && Threads > 1) job.Run(2);
        else job.Execute(0, 1);
        var gValue = new Var(Tensor.FromDoubles(job._g, new Shape(B, T, m), x0.DType, x0.Device));
        if (!x0.RequiresGrad) return gValue;
        var h = new CostCurvature(job._hxx, job._hux, B, T, n, m);
        var sweeps = new LinearizedSweeps(lin);
        using (Autograd.EnableGrad())
        {
            var d = sweeps.States(x0 - new Var(x0.Value));
            return gValue + h.ControlTerms(d) + sweeps.ControlsOfCostates(h.StateTerms(d));
        }
    }

    public override void Execute(int part, int parts)
    {
        var lin = _lin;
        int B = lin.Batch, T = lin.Horizon, n = lin.N, m = lin.M, nn = n * n;
        bool withCurvature = _hxx.Length > 0;
        var lam = new double[(T + 1) * n];
        var huu = new double[m * m]; // H_uu does not act on d
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
                // g_t = ∇_uℓ_t + B_tᵀλ̄_{t+1}
                var bu = lin.BSpan(b, t); var next = lam.AsSpan((t + 1) * n, n); var lu = lin.LuSpan(b, t);
                for (int i = 0; i < m; i++)
                {
                    double acc = lu[i];
                    for (int j = 0; j < n; j++) acc += bu[j * m + i] * next[j];
                    _g[(b * T + t) * m + i] = acc;
                }
                if (!withCurvature) continue;
                int r = b * T + t, xo = (b * (T + 1) + t) * n;
                var hxx = _hxx.AsSpan(xo * n, nn); var hux = _hux.AsSpan(r * m * n, m * n);
                lin.LxxSpan(b, t).CopyTo(hxx); lin.LuxSpan(b, t).CopyTo(hux);
                _curvature.AddCurvature(_xs.AsSpan(xo, n), _us.AsSpan(r * m, m), next, hxx, huu, hux);
            }
            if (withCurvature) lin.LxxSpan(b, T).CopyTo(_hxx.AsSpan((b * (T + 1) + T) * nn, nn));
        }
    }
}
