using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// Implicit gradients of an iLQR solution (Amos et al. 2018, "Differentiable MPC"). At the fixed point
/// the projected gradient g(U*; θ, x0) = ∇_U J vanishes, so dU*/dθ = −H⁻¹ ∂g/∂θ on the free controls,
/// controls at an active bound held fixed. H is the iLQR (Gauss–Newton) model of the shooting Hessian at
/// the solution: by default the exact one (cost Hessians plus the dynamics' curvature weighted by the costate,
/// i.e. the Hessian of the Lagrangian), or with exactHessian false the Gauss–Newton/iLQR model that drops f's
/// curvature, as Amos et al. do (cheaper; exact only for linear dynamics).
/// H⁻¹ is applied by one LQR solve: a Riccati sweep on the free set gives constant gains, and the
/// linear-term recursion and forward pass are recorded with Var ops, so its transpose runs in backward.
/// The returned Var has the value U* and is u* + S(g) − stopgrad(S(g)) with S(g) = −H⁻¹g.
/// g's derivatives wrt θ and x0 come from <see cref="LinearizedCostGradient"/> (one batched pass over all time steps),
/// not from differentiating a recorded rollout; for problems without parameters whose models give closed-form
/// derivatives, curvature included, from <see cref="ClosedFormCostGradient"/> with no Var model run at all.
/// </summary>
public static partial class IlqrImplicit
{
    public static Var Attach(TrajProblem problem, Var x0, IlqrResult solution, bool detachUnconverged = false, bool exactHessian = true, double activeTolerance = 1e-9)
    {
        problem.RequireDifferentiable("IlqrImplicit.Attach");
        int n = problem.StateDim, m = problem.ControlDim, T = problem.Horizon, B = x0.Shape[0];
        var dtype = x0.DType;
        var lin = new Linearization(B, T, n, m);
        var ev = new ProblemEvaluator(problem, dtype);
        var free = new bool[B * T * m];
        Gains gains;
        Var g;
        // Gradient of the total cost wrt U at the solution, with exact first derivatives wrt θ and x0. In closed form the
        // whole model is built per group of examples (ClosedFormPass); else in stages over the batch.
        var closedForm = problem.AnalyticDynamics is null ? null : LinearizedCostGradient.TryClosedForm(problem, x0, solution, lin);
        if (closedForm is not null)
        {
            gains = NewGains(B, T, n, m);
            var pass = new ClosedFormPass(ev, solution, lin, closedForm, free, gains, exactHessian, activeTolerance);
            if (B >= 32 && CpuParallelWork.Threads > 1) pass.Run(2);
            else pass.Execute(0, 1);
            g = closedForm.Attach(x0, lin.Lxx, lin.Lux);
        }
        else
        {
            Linearize(ev, B, solution, lin);
            g = LinearizedCostGradient.Compute(problem, x0, solution, lin, linChangesLater: exactHessian); // [B, T, m]
            MarkFree(problem, HostDoubles.Read(g.Value), solution.UFlat, free, 0, free.Length, activeTolerance);
            if (exactHessian) ev.AddDynamicsCurvature(B, solution.XFlat, solution.UFlat, lin);
            gains = Riccati(lin, free, B, T, n, m);
        }
        var lqr = new ConstantGainLqr(gains, lin, B, T, n, m);

        // delta = S(g ⊙ free) with S = −H⁻¹ the LQR solve; only its gradient matters (its value is cancelled below),
        // so g itself stands in, with a hook that maps the incoming gradient w to free ⊙ Sᵀw.
        g.RegisterHook(lqr.MaskedTransposeHook(free));
        Var outU;
        using (Autograd.EnableGrad())
            outU = new Var(solution.U) + (g - new Var(g.Value));
        if (detachUnconverged) outU = LevenbergMarquardt.DetachWhere(outU, solution.Status);
        return outU;
    }

    /// <summary>
    /// lin along the solution; closed-form models go example by example (eight per lane group when they have lane
    /// versions) over both cores when the batch is large.
    /// </summary>
    internal static void Linearize(ProblemEvaluator ev, int B, IlqrResult solution, Linearization lin)
    {
        var p = ev.Problem;
        if (p.AnalyticDynamics is null || p.AnalyticCost is null)
        {
            ev.Linearize(B, solution.XFlat, solution.UFlat, lin);
            return;
        }
        var job = new LinearizeJob(ev, solution, lin);
        if (B >= 32 && CpuParallelWork.Threads > 1) job.Run(2);
        else job.Execute(0, 1);
    }

    private sealed class LinearizeJob(ProblemEvaluator ev, IlqrResult solution, Linearization lin) : CpuParallelWork
    {
        public override void Execute(int part, int parts)
        {
            // Parts split at multiples of eight examples, so that lane groups stay whole.
            int groups = (lin.Batch + 7) / 8;
            int begin = Math.Min(lin.Batch, part * groups / parts * 8), end = Math.Min(lin.Batch, (part + 1) * groups / parts * 8);
            if (LaneLinearization.For(ev.Problem) is { } lanes)
            {
                lanes.Fill(solution.XFlat, solution.UFlat, lin, begin, end);
                return;
            }
            var next = new double[lin.N];
            for (int b = begin; b < end; b++) ev.LinearizeExample(b, solution.XFlat, solution.UFlat, lin, next);
        }
    }

    internal sealed record Gains(double[] P, double[] K, double[] Qux);

    private static Gains NewGains(int B, int T, int n, int m) => new(new double[B * T * m * m], new double[B * T * m * n], new double[B * T * m * n]);

    /// <summary>
    /// free[i] for rows i0..i1−1 of [B,T,m]: false for a control at a bound that the gradient gv pushes outward
    /// (held fixed by the implicit solve), true otherwise.
    /// </summary>
    private static void MarkFree(TrajProblem problem, ReadOnlySpan<double> gv, ReadOnlySpan<double> u, bool[] free, int i0, int i1, double activeTolerance)
    {
        int m = problem.ControlDim;
        for (int i = i0; i < i1; i++)
        {
            free[i] = true;
            if (!problem.HasBounds) continue;
            double lo = problem.ControlLower![i % m], hi = problem.ControlUpper![i % m];
            double tol = activeTolerance * (1 + hi - lo);
            if ((u[i] <= lo + tol && gv[i] > 0) || (u[i] >= hi - tol && gv[i] < 0)) free[i] = false;
        }
    }
}
