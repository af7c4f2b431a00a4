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
/// not from differentiating a recorded rollout.
/// </summary>
public static class IlqrImplicit
{
    public static Var Attach(TrajProblem problem, Var x0, IlqrResult solution, bool detachUnconverged = false, bool exactHessian = true, double activeTolerance = 1e-9)
    {
        problem.RequireDifferentiable("IlqrImplicit.Attach");
        int n = problem.StateDim, m = problem.ControlDim, T = problem.Horizon, B = x0.Shape[0];
        var dtype = x0.DType;
        var lin = new Linearization(B, T, n, m);
        var ev = new ProblemEvaluator(problem, dtype);
        Linearize(ev, B, solution, lin);
        // Gradient of the total cost wrt U at the solution, with exact first derivatives wrt θ and x0; in closed form its
        // graph waits until the Riccati sweep below has read lin's Hessians (it then adds the dynamics' curvature to them).
        var closedForm = LinearizedCostGradient.TryClosedForm(problem, x0, solution, lin);
        var g = closedForm is null ? LinearizedCostGradient.Compute(problem, x0, solution, lin, linChangesLater: exactHessian) : null; // [B, T, m]
        var gv = closedForm is null ? HostDoubles.Read(g!.Value) : closedForm.Value;
        var free = new bool[B * T * m];
        for (int i = 0; i < free.Length; i++)
        {
            free[i] = true;
            if (!problem.HasBounds) continue;
            double lo = problem.ControlLower![i % m], hi = problem.ControlUpper![i % m], u = solution.UFlat[i];
            double tol = activeTolerance * (1 + hi - lo);
            if ((u <= lo + tol && gv[i] > 0) || (u >= hi - tol && gv[i] < 0)) free[i] = false;
        }
        if (exactHessian)
        {
            if (closedForm is null) ev.AddDynamicsCurvature(B, solution.XFlat, solution.UFlat, lin);
            else closedForm.AddCurvature(lin.Lxx, lin.Luu, lin.Lux);
        }
        var gains = Riccati(lin, free, B, T, n, m);
        var lqr = new ConstantGainLqr(gains, lin, B, T, n, m);
        if (closedForm is not null)
        {
            if (!exactHessian) closedForm.AddCurvature(lin.Lxx, lin.Luu, lin.Lux); // the sweep is done with the model's Hessians
            g = closedForm.Attach(x0, lin.Lxx, lin.Lux);
        }

        // delta = S(g ⊙ free) with S = −H⁻¹ the LQR solve; only its gradient matters (its value is cancelled below),
        // so g itself stands in, with a hook that maps the incoming gradient w to free ⊙ Sᵀw.
        g!.RegisterHook(lqr.MaskedTransposeHook(free));
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

    /// <summary>
    /// Riccati sweep of the LQR model on the free set: P_t = [Q_uu,ff⁻¹] padded with zeros, K_t = −P_t Q_ux,
    /// V_xx = Q_xx + Q_uxᵀK. A Q_uu,ff that does not factor gets a growing damping (never throws).
    /// </summary>
    internal static Gains Riccati(Linearization lin, bool[] free, int B, int T, int n, int m)
    {
        var gains = new Gains(new double[B * T * m * m], new double[B * T * m * n], new double[B * T * m * n]);
        var job = new RiccatiJob(lin, free, gains);
        // Both cores only for batches with enough work per part (a part is a few µs per example).
        if (B >= 32 && CpuParallelWork.Threads > 1) job.Run(2);
        else job.Execute(0, 1);
        return gains;
    }

    /// <summary>The sweep split by examples over the worker pool: eight-lane groups where they apply, the scalar sweep otherwise.</summary>
    private sealed class RiccatiJob(Linearization lin, bool[] free, Gains gains) : CpuParallelWork
    {
        public override void Execute(int part, int parts)
        {
            int B = lin.Batch, T = lin.Horizon, n = lin.N, m = lin.M;
            var vxx = new double[n * n]; var vxxA = new double[n * n]; var vxxB = new double[n * m];
            var qxx = new double[n * n]; var quu = new double[m * m]; var qux = new double[m * n];
            var idx = new int[m]; var f = new double[m * m]; var col = new double[m];
            int begin = part * B / parts, end = (part + 1) * B / parts;
            var lanes = ImplicitRiccatiLanes.Applies(m) ? new ImplicitRiccatiLanes(n, T) : null;
            for (int b = begin; b < end;)
            {
                int count = lanes is null ? 1 : Math.Min(ImplicitRiccatiLanes.Lanes, end - b);
                int redo = lanes is null ? 1 : lanes.Sweep(lin, free, b, count, gains.P, gains.K, gains.Qux);
                for (int l = 0; l < count; l++)
                    if ((redo & (1 << l)) != 0)
                        RiccatiExample(lin, free, b + l, T, n, m, gains.P, gains.K, gains.Qux, vxx, vxxA, vxxB, qxx, quu, qux, idx, f, col);
                b += count;
            }
        }
    }

    internal static void RiccatiExample(Linearization lin, bool[] free, int b, int T, int n, int m, double[] P, double[] K, double[] QuxAll,
        double[] vxx, double[] vxxA, double[] vxxB, double[] qxx, double[] quu, double[] qux, int[] idx, double[] f, double[] col)
    {
        lin.LxxSpan(b, T).CopyTo(vxx);
        for (int t = T - 1; t >= 0; t--)
        {
            var A = lin.ASpan(b, t); var Bm = lin.BSpan(b, t);
            SmallDense.QSecondOrder(vxx, A, Bm, lin.LxxSpan(b, t), lin.LuuSpan(b, t), lin.LuxSpan(b, t),
                vxxA, vxxB, qxx, quu, qux, n, m);
            int nf = 0;
            for (int i = 0; i < m; i++) if (free[(b * T + t) * m + i]) idx[nf++] = i;
            var p = P.AsSpan((b * T + t) * m * m, m * m);
            var k = K.AsSpan((b * T + t) * m * n, m * n);
            p.Clear(); k.Clear(); // a redone lane-swept example has values here
            qux.CopyTo(QuxAll.AsSpan((b * T + t) * m * n, m * n));
            if (nf > 0)
            {
                for (double damp = 0; ; damp = damp == 0 ? 1e-10 : damp * 10)
                {
                    for (int i = 0; i < nf; i++) for (int j = 0; j < nf; j++) f[i * nf + j] = quu[idx[i] * m + idx[j]] + (i == j ? damp : 0);
                    if (SmallDense.Cholesky(f, nf) || damp > 1e12) break;
                }
                for (int j = 0; j < nf; j++)
                {
                    Array.Clear(col);
                    col[j] = 1;
                    SmallDense.CholeskySolve(f, nf, col);
                    for (int i = 0; i < nf; i++) p[idx[i] * m + idx[j]] = col[i];
                }
                SmallDense.MatMul(p, qux, k, m, m, n);
                for (int i = 0; i < k.Length; i++) k[i] = -k[i];
            }
            qxx.CopyTo(vxx, 0);
            SmallDense.MatMul(qux, k, vxx, n, m, n, transA: true, accumulate: true);
            SmallDense.Symmetrize(vxx, n);
        }
    }
}
