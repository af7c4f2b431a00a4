using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// Batched iLQR with control limits (box-DDP, Tassa, Mansard &amp; Todorov 2014). Every example of the
/// batch has its own regularization, line search, convergence flag and status; examples that have
/// converged stop changing. The nominal never gets worse (only cost-decreasing steps are accepted),
/// so the returned iterate is the best one seen.
/// </summary>
public static class Ilqr
{
    /// <summary>Solve from x0 [B,n] starting at uInit [B,T,m] (the warm start; clamped to the bounds).</summary>
    public static IlqrResult Solve(TrajProblem problem, Tensor x0, Tensor uInit, IlqrOptions? options = null)
    {
        var o = options ?? DefaultOptions;
        int n = problem.StateDim, m = problem.ControlDim, T = problem.Horizon;
        if (x0.Rank != 2 || x0.Shape[1] != n)
            throw new TensorShapeException($"Ilqr.Solve: x0 has shape {x0.Shape}, expected [B, {n}]");
        int B = x0.Shape[0];
        if (uInit.Shape != new Shape(B, T, m))
            throw new TensorShapeException($"Ilqr.Solve: uInit has shape {uInit.Shape}, expected [{B}, {T}, {m}]");
        var ev = new ProblemEvaluator(problem, x0.DType);
        var st = IlqrBuffers.Rent(B, T, n, m);
        try
        {
            ReadDoubles(x0, st.X0);
            ReadDoubles(uInit, st.U);
            ClampControls(problem, st.U);
            ev.Rollout(B, st.X0, st.U, st.X, st.Cost);
            for (int b = 0; b < B; b++)
            {
                if (!double.IsFinite(st.Cost[b]))
                    throw new ArithmeticException($"Ilqr.Solve: example {b} has a non-finite initial cost {st.Cost[b]}");
                st.Reg[b] = o.RegInit;
                st.Active[b] = true;
            }
            if (problem.AnalyticDynamics is not null && problem.AnalyticCost is not null)
                IlqrPerExample.Run(ev, st, o);
            else
                SolveBatched(ev, st, o);
            for (int b = 0; b < B; b++)
                if (!st.Converged[b] && st.Iterations[b] < o.MaxIterations && st.Active[b] == false && st.GradNorm[b] < o.GradientTolerance)
                    st.Converged[b] = true;
            var status = new SolveStatus[B];
            for (int b = 0; b < B; b++)
                status[b] = new SolveStatus(st.Converged[b], st.Iterations[b], st.Cost[b], st.GradNorm[b], st.Reg[b]);
            var uFlat = (double[])st.U.Clone();
            var xFlat = (double[])st.X.Clone();
            var uT = Tensor.FromDoubles(uFlat, new Shape(B, T, m), x0.DType, x0.Device);
            var xT = Tensor.FromDoubles(xFlat, new Shape(B, T + 1, n), x0.DType, x0.Device);
            return new IlqrResult(uT, xT, status, uFlat, xFlat);
        }
        finally { IlqrBuffers.Return(st); }
    }

    private static readonly IlqrOptions DefaultOptions = new();

    /// <summary>
    /// The batch moves in lockstep: one linearization of all examples (a replicated autodiff pass for Var
    /// models), per-example backward passes, then one line search that rolls out all searching examples together.
    /// </summary>
    private static void SolveBatched(ProblemEvaluator ev, IlqrBuffers st, IlqrOptions o)
    {
        var problem = ev.Problem;
        int B = st.B;
        var lin = st.Lin;
        for (int iter = 0; iter < o.MaxIterations; iter++)
        {
            if (!Any(st.Active)) break;
            ev.Linearize(B, st.X, st.U, lin);
            int it = iter;
            ForExamples(B, st, (b, ws) =>
            {
                if (!st.Active[b]) return;
                st.Iterations[b] = it + 1;
                st.GradNorm[b] = ProjectedGradientNorm(problem, lin, b, st.U, ws);
                if (st.GradNorm[b] < o.GradientTolerance) { st.Converged[b] = true; st.Active[b] = false; return; }
                BackwardPassWithRetries(problem, lin, b, st, ws, o);
            });
            LineSearch(ev, st, o);
        }
    }

    /// <summary>Examples split over the cores when there are enough of them; each worker uses its own workspace.</summary>
    private static void ForExamples(int count, IlqrBuffers st, Action<int, IlqrWorkspace> body)
    {
        int parts = count >= 16 ? Math.Min(st.Workers.Length, count) : 1;
        if (parts == 1)
        {
            for (int b = 0; b < count; b++) body(b, st.Workers[0]);
            return;
        }
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            var ws = st.Workers[part];
            for (int b = part * count / parts, end = (part + 1) * count / parts; b < end; b++) body(b, ws);
        });
    }

    /// <summary>Backward passes with growing μ until every Q_uu factors; false (example stopped) past RegMax.</summary>
    internal static bool BackwardPassWithRetries(TrajProblem problem, Linearization lin, int b, IlqrBuffers st, IlqrWorkspace ws, IlqrOptions o)
    {
        while (!BackwardPass(problem, lin, b, st, ws))
        {
            st.Reg[b] = Math.Max(st.Reg[b] * o.RegFactor, o.RegMin) * 10;
            if (st.Reg[b] > o.RegMax) { st.Active[b] = false; return false; }
        }
        return true;
    }

    private static void ReadDoubles(Tensor t, Span<double> dst)
    {
        if (t.DType == DType.Float64 && t.Device.IsCpu && t.IsContiguous) t.AsSpan<double>().CopyTo(dst);
        else t.ToDoubleArray().AsSpan().CopyTo(dst);
    }

    /// <summary>The previous solution shifted one step earlier, last control repeated: the MPC warm start.</summary>
    public static Tensor ShiftForWarmStart(Tensor u)
    {
        int B = u.Shape[0], T = u.Shape[1], m = u.Shape[2];
        var d = u.ToDoubleArray();
        var s = new double[d.Length];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                d.AsSpan((b * T + Math.Min(t + 1, T - 1)) * m, m).CopyTo(s.AsSpan((b * T + t) * m, m));
        return Tensor.FromDoubles(s, u.Shape, u.DType, u.Device);
    }

    /// <summary>‖P(dJ/dU)‖₂ of example b along the nominal (see <see cref="BoxDdpBackward.ProjectedGradientNorm"/>).</summary>
    internal static double ProjectedGradientNorm(TrajProblem p, Linearization lin, int b, double[] u, IlqrWorkspace ws) =>
        ws.Backward.ProjectedGradientNorm(p, lin, b, u);

    /// <summary>The box-DDP backward pass of one example with its μ; false when some regularized Q_uu is not positive definite.</summary>
    private static bool BackwardPass(TrajProblem p, Linearization lin, int b, IlqrBuffers st, IlqrWorkspace ws)
    {
        if (!ws.Backward.Run(p, lin, b, st.Reg[b], st.U, st.Kff, st.Kfb, default, default, out double dv1, out double dv2)) return false;
        st.Dv1[b] = dv1;
        st.Dv2[b] = dv2;
        return true;
    }

    /// <summary>Backtracking over the step sizes, all searching examples rolled out together at each size.</summary>
    private static void LineSearch(ProblemEvaluator ev, IlqrBuffers st, IlqrOptions o)
    {
        var p = ev.Problem;
        int B = st.B, T = st.T, n = st.N, m = st.M;
        var searching = st.Searching;
        bool any = false;
        for (int b = 0; b < B; b++) { searching[b] = st.Active[b]; any |= searching[b]; }
        if (!any) return;
        var xt = st.SliceX; var ut = st.SliceU; var next = st.SliceNext; var dx = st.Workers[0].Dx;
        var newCost = st.NewCost;
        foreach (double alpha in o.LineSearchSteps)
        {
            ProblemEvaluator.Scatter(st.X0, st.XNew, B, T + 1, 0, n);
            for (int t = 0; t < T; t++)
            {
                ProblemEvaluator.Gather(st.XNew, xt, B, T + 1, t, n);
                for (int b = 0; b < B; b++)
                {
                    var uo = ut.AsSpan(b * m, m);
                    if (!searching[b]) { st.U.AsSpan((b * T + t) * m, m).CopyTo(uo); continue; }
                    for (int i = 0; i < n; i++) dx[i] = xt[b * n + i] - st.X[(b * (T + 1) + t) * n + i];
                    var k = st.KffSpan(b, t); var K = st.KfbSpan(b, t);
                    for (int i = 0; i < m; i++) uo[i] = st.U[(b * T + t) * m + i] + alpha * k[i];
                    SmallDense.MatVec(K, dx, uo, m, n, accumulate: true);
                }
                ClampControls(p, ut);
                ProblemEvaluator.Scatter(ut, st.UNew, B, T, t, m);
                ev.Step(B, xt, ut, next, searching);
                ProblemEvaluator.Scatter(next, st.XNew, B, T + 1, t + 1, n);
            }
            ev.Costs(B, st.XNew, st.UNew, newCost);
            any = false;
            for (int b = 0; b < B; b++)
            {
                if (!searching[b]) continue;
                if (TryAccept(st, b, alpha, newCost[b], o)) searching[b] = false;
                any |= searching[b];
            }
            if (!any) break;
        }
        for (int b = 0; b < B; b++)
            if (searching[b]) NoStepFound(st, b, o);
    }

    /// <summary>
    /// The acceptance test of one example's trial (XNew, UNew) at step alpha with cost newCost: on success the
    /// trial becomes the nominal, μ shrinks, and a negligible improvement marks convergence.
    /// </summary>
    internal static bool TryAccept(IlqrBuffers st, int b, double alpha, double newCost, IlqrOptions o)
    {
        if (!Acceptable(st, b, alpha, newCost, o, out bool tiny)) return false;
        Accept(st, b, newCost, tiny, o);
        return true;
    }

    /// <summary>The acceptance test alone (nothing changes); tiny: the predicted gain is below the cost's rounding.</summary>
    internal static bool Acceptable(IlqrBuffers st, int b, double alpha, double newCost, IlqrOptions o, out bool tiny)
    {
        double expected = -(alpha * st.Dv1[b] + alpha * alpha * st.Dv2[b]);
        double actual = st.Cost[b] - newCost;
        // Near the optimum the predicted gain falls below the cost's rounding: then a step that does not
        // measurably worsen the cost is the (accurate) Newton step and is taken.
        double noise = 1e-13 * (1 + Math.Abs(st.Cost[b]));
        tiny = expected < 100 * noise && actual > -noise;
        return double.IsFinite(newCost) && (tiny || (actual > 0 && (expected <= 0 || actual >= o.AcceptRatio * expected)));
    }

    /// <summary>Takes the trial (XNew, UNew) of example b, which passed <see cref="Acceptable"/>, as the new nominal.</summary>
    internal static void Accept(IlqrBuffers st, int b, double newCost, bool tiny, IlqrOptions o)
    {
        int T = st.T, n = st.N, m = st.M;
        double actual = st.Cost[b] - newCost;
        st.XNew.AsSpan(b * (T + 1) * n, (T + 1) * n).CopyTo(st.X.AsSpan(b * (T + 1) * n));
        st.UNew.AsSpan(b * T * m, T * m).CopyTo(st.U.AsSpan(b * T * m));
        double old = st.Cost[b];
        st.Cost[b] = newCost;
        st.Reg[b] = Math.Max(o.RegMin, st.Reg[b] / o.RegFactor);
        if (!tiny && actual < o.CostTolerance * (1 + Math.Abs(old))) { st.Converged[b] = true; st.Active[b] = false; }
    }

    /// <summary>No step improved: raise the regularization (a shorter, more gradient-like step next time).</summary>
    internal static void NoStepFound(IlqrBuffers st, int b, IlqrOptions o)
    {
        st.Reg[b] = Math.Max(st.Reg[b] * o.RegFactor, o.RegMin) * 10;
        if (st.Reg[b] > o.RegMax) st.Active[b] = false;
        // A stationary point cannot be improved: that is convergence, not failure.
        if (Math.Abs(st.Dv1[b]) < Math.Max(o.CostTolerance, 1e-13) * (1 + Math.Abs(st.Cost[b]))) { st.Converged[b] = true; st.Active[b] = false; }
    }

    internal static void ClampControls(TrajProblem p, Span<double> u)
    {
        if (!p.HasBounds) return;
        var lo = p.ControlLower!; var hi = p.ControlUpper!;
        int m = lo.Length;
        for (int i = 0; i < u.Length; i++) u[i] = Math.Clamp(u[i], lo[i % m], hi[i % m]);
    }

    private static bool Any(bool[] a)
    {
        foreach (bool v in a) if (v) return true;
        return false;
    }
}
