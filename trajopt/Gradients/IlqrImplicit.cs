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

    /// <summary>
    /// The closed-form model of the implicit solve, group by group of eight examples while their data is in cache:
    /// linearize, g's value and the free set, the Riccati sweep on the model's Hessians, and the dynamics' curvature
    /// added to lin's Hessians for g's graph (before the sweep when the model is the exact Hessian, after it for
    /// Gauss–Newton). Parts split at multiples of eight examples.
    /// </summary>
    private sealed class ClosedFormPass(ProblemEvaluator ev, IlqrResult solution, Linearization lin, ClosedFormCostGradient closedForm,
        bool[] free, Gains gains, bool exactHessian, double activeTolerance) : CpuParallelWork
    {
        public override void Execute(int part, int parts)
        {
            int B = lin.Batch, T = lin.Horizon, n = lin.N, m = lin.M, groups = (B + 7) / 8;
            int begin = Math.Min(B, part * groups / parts * 8), end = Math.Min(B, (part + 1) * groups / parts * 8);
            var lanes = LaneLinearization.For(ev.Problem);
            var next = new double[n]; var lam = new double[(T + 1) * n]; var scratchUu = new double[m * m];
            var sweeper = new RiccatiSweeper(lin, free, gains);
            for (int b0 = begin; b0 < end; b0 += 8)
            {
                int b1 = Math.Min(end, b0 + 8);
                if (lanes is not null) lanes.Fill(solution.XFlat, solution.UFlat, lin, b0, b1);
                else for (int b = b0; b < b1; b++) ev.LinearizeExample(b, solution.XFlat, solution.UFlat, lin, next);
                closedForm.Values(b0, b1, lam);
                MarkFree(ev.Problem, closedForm.Value, solution.UFlat, free, b0 * T * m, b1 * T * m, activeTolerance);
                if (exactHessian) closedForm.Curvature(b0, b1, lin.Lxx, lin.Luu, lin.Lux, lam, scratchUu);
                sweeper.Sweep(b0, b1);
                if (!exactHessian) closedForm.Curvature(b0, b1, lin.Lxx, lin.Luu, lin.Lux, lam, scratchUu);
            }
        }
    }

    /// <summary>
    /// Riccati sweep of the LQR model on the free set: P_t = [Q_uu,ff⁻¹] padded with zeros, K_t = −P_t Q_ux,
    /// V_xx = Q_xx + Q_uxᵀK. A Q_uu,ff that does not factor gets a growing damping (never throws).
    /// </summary>
    internal static Gains Riccati(Linearization lin, bool[] free, int B, int T, int n, int m)
    {
        var gains = NewGains(B, T, n, m);
        var job = new RiccatiJob(lin, free, gains);
        // Both cores only for batches with enough work per part (a part is a few µs per example).
        if (B >= 32 && CpuParallelWork.Threads > 1) job.Run(2);
        else job.Execute(0, 1);
        return gains;
    }

    /// <summary>The sweep split by examples over the worker pool.</summary>
    private sealed class RiccatiJob(Linearization lin, bool[] free, Gains gains) : CpuParallelWork
    {
        public override void Execute(int part, int parts) =>
            new RiccatiSweeper(lin, free, gains).Sweep(part * lin.Batch / parts, (part + 1) * lin.Batch / parts);
    }

    /// <summary>The sweep over a range of examples, with its scratch: eight-lane groups where they apply, the scalar sweep otherwise.</summary>
    private sealed class RiccatiSweeper
    {
        private readonly Linearization _lin;
        private readonly bool[] _free;
        private readonly Gains _gains;
        private readonly double[] _vxx, _vxxA, _vxxB, _qxx, _quu, _qux, _f, _col;
        private readonly int[] _idx;
        private readonly ImplicitRiccatiLanes? _lanes;

        public RiccatiSweeper(Linearization lin, bool[] free, Gains gains)
        {
            _lin = lin; _free = free; _gains = gains;
            int n = lin.N, m = lin.M;
            _vxx = new double[n * n]; _vxxA = new double[n * n]; _vxxB = new double[n * m];
            _qxx = new double[n * n]; _quu = new double[m * m]; _qux = new double[m * n];
            _idx = new int[m]; _f = new double[m * m]; _col = new double[m];
            _lanes = ImplicitRiccatiLanes.Applies(m) ? new ImplicitRiccatiLanes(n, lin.Horizon) : null;
        }

        public void Sweep(int begin, int end)
        {
            var lin = _lin; var gains = _gains;
            int T = lin.Horizon, n = lin.N, m = lin.M;
            for (int b = begin; b < end;)
            {
                int count = _lanes is null ? 1 : Math.Min(ImplicitRiccatiLanes.Lanes, end - b);
                int redo = _lanes is null ? 1 : _lanes.Sweep(lin, _free, b, count, gains.P, gains.K, gains.Qux);
                for (int l = 0; l < count; l++)
                    if ((redo & (1 << l)) != 0)
                        RiccatiExample(lin, _free, b + l, T, n, m, gains.P, gains.K, gains.Qux, _vxx, _vxxA, _vxxB, _qxx, _quu, _qux, _idx, _f, _col);
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
