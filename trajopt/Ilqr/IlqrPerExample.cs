namespace DiffTori.TrajOpt;

/// <summary>
/// iLQR for problems whose dynamics and cost are both closed-form: then examples never share work, so each
/// one runs its whole solve (linearize, backward pass, line search, repeat) on its own, with its data hot in
/// the cache, and the batch is split over the cores once per solve. The arithmetic per example is exactly
/// that of the batched path (same linearization, backward pass, step sizes and acceptance test).
/// </summary>
internal static class IlqrPerExample
{
    public static void Run(ProblemEvaluator ev, IlqrBuffers st, IlqrOptions o)
    {
        int B = st.B;
        int parts = B >= 16 ? Math.Min(st.Workers.Length, B) : 1;
        if (parts == 1)
        {
            for (int b = 0; b < B; b++) SolveExample(ev, st, o, b, st.Workers[0]);
            return;
        }
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            var ws = st.Workers[part];
            for (int b = part * B / parts, end = (part + 1) * B / parts; b < end; b++) SolveExample(ev, st, o, b, ws);
        });
    }

    private static void SolveExample(ProblemEvaluator ev, IlqrBuffers st, IlqrOptions o, int b, IlqrWorkspace ws)
    {
        var problem = ev.Problem;
        var lin = st.Lin;
        for (int iter = 0; iter < o.MaxIterations; iter++)
        {
            if (!st.Active[b]) return;
            ev.LinearizeExample(b, st.X, st.U, lin, ws.Next);
            st.Iterations[b] = iter + 1;
            st.GradNorm[b] = Ilqr.ProjectedGradientNorm(problem, lin, b, st.U, ws);
            if (st.GradNorm[b] < o.GradientTolerance) { st.Converged[b] = true; st.Active[b] = false; return; }
            if (!Ilqr.BackwardPassWithRetries(problem, lin, b, st, ws, o)) return;
            LineSearch(ev, st, o, b, ws);
        }
    }

    /// <summary>Backtracking over the step sizes for one example: roll out u = ū + α·k + K·(x − x̄), clamp, test.</summary>
    private static void LineSearch(ProblemEvaluator ev, IlqrBuffers st, IlqrOptions o, int b, IlqrWorkspace ws)
    {
        var p = ev.Problem;
        var dyn = p.AnalyticDynamics!;
        int T = st.T, n = st.N, m = st.M;
        var dx = ws.Dx;
        var xNew = st.XNew.AsSpan(b * (T + 1) * n, (T + 1) * n);
        var uNew = st.UNew.AsSpan(b * T * m, T * m);
        var xNom = st.X.AsSpan(b * (T + 1) * n, (T + 1) * n);
        var uNom = st.U.AsSpan(b * T * m, T * m);
        bool bounded = p.HasBounds;
        foreach (double alpha in o.LineSearchSteps)
        {
            st.X0.AsSpan(b * n, n).CopyTo(xNew);
            for (int t = 0; t < T; t++)
            {
                var xt = xNew.Slice(t * n, n);
                for (int i = 0; i < n; i++) dx[i] = xt[i] - xNom[t * n + i];
                var k = st.KffSpan(b, t); var K = st.KfbSpan(b, t);
                var uo = uNew.Slice(t * m, m);
                for (int i = 0; i < m; i++) uo[i] = uNom[t * m + i] + alpha * k[i];
                SmallDense.MatVec(K, dx, uo, m, n, accumulate: true);
                if (bounded)
                    for (int i = 0; i < m; i++) uo[i] = Math.Clamp(uo[i], p.ControlLower![i], p.ControlUpper![i]);
                dyn.Step(xt, uo, xNew.Slice((t + 1) * n, n), default, default);
            }
            double newCost = ev.ExampleCost(xNew, uNew);
            if (Ilqr.TryAccept(st, b, alpha, newCost, o)) return;
        }
        Ilqr.NoStepFound(st, b, o);
    }
}
