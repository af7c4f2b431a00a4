namespace DiffTori.TrajOpt;

/// <summary>
/// iLQR for problems whose dynamics and cost are both closed-form: then examples never share work, so each
/// group of eight examples runs its whole solve (linearize, backward pass, line search, repeat) on its own,
/// with its data hot in the cache, and each core takes the next unsolved group. For m = 1 a group runs one
/// example per SIMD lane (<see cref="IlqrLanes"/>): linearization (with the lane models, where the problem has
/// them), gradient norms, backward pass and line search. The arithmetic per example is that of the batched
/// path (same linearization, backward pass, step sizes and acceptance test).
/// </summary>
internal static class IlqrPerExample
{
    public static void Run(ProblemEvaluator ev, IlqrBuffers st, IlqrOptions o)
    {
        int B = st.B, groups = (B + IlqrLanes.Lanes - 1) / IlqrLanes.Lanes;
        int parts = B >= 16 ? Math.Min(st.Workers.Length, groups) : 1;
        if (parts == 1)
        {
            for (int g = 0; g < groups; g++) SolveGroup(ev, st, o, g * IlqrLanes.Lanes, Math.Min(B, (g + 1) * IlqrLanes.Lanes), st.Workers[0]);
            return;
        }
        // Groups differ in work (backtracking, early convergence), so each core takes the next unsolved group
        // instead of a fixed half of the batch. A group's result does not depend on which core solves it.
        int next = -1;
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            for (int g = Interlocked.Increment(ref next); g < groups; g = Interlocked.Increment(ref next))
                SolveGroup(ev, st, o, g * IlqrLanes.Lanes, Math.Min(B, (g + 1) * IlqrLanes.Lanes), st.Workers[part]);
        });
    }

    private static void SolveGroup(ProblemEvaluator ev, IlqrBuffers st, IlqrOptions o, int start, int end, IlqrWorkspace ws)
    {
        var problem = ev.Problem;
        var lin = st.Lin;
        var group = ws.Group;
        Span<double> norms = stackalloc double[IlqrLanes.Lanes];
        var dynLanes = problem.AnalyticDynamics as IAnalyticDynamicsLanes;
        var costLanes = problem.AnalyticCost as IAnalyticCostLanes;
        for (int iter = 0; iter < o.MaxIterations; iter++)
        {
            int count = 0;
            for (int b = start; b < end; b++)
            {
                if (!st.Active[b]) continue;
                st.Iterations[b] = iter + 1;
                group[count++] = b;
            }
            if (count == 0) return;
            var lanes = count > 1 ? ws.Lanes : null;
            var examples = group.AsSpan(0, count);
            // Linearize: all lanes at once with the lane models, else per example (then gathered into the lanes).
            if (lanes is not null && dynLanes is not null && costLanes is not null) lanes.Linearize(st, examples, dynLanes, costLanes);
            else
            {
                foreach (int b in examples) ev.LinearizeExample(b, st.X, st.U, lin, ws.Next);
                lanes?.Load(lin, examples);
            }
            // Projected gradient norms; converged examples skip the rest of the iteration.
            if (lanes is not null) lanes.GradientNorms(problem, examples, st.U, norms);
            else for (int l = 0; l < count; l++) norms[l] = Ilqr.ProjectedGradientNorm(problem, lin, group[l], st.U, ws);
            int converged = 0;
            for (int l = 0; l < count; l++)
            {
                int b = group[l];
                st.GradNorm[b] = norms[l];
                if (norms[l] < o.GradientTolerance) { st.Converged[b] = true; st.Active[b] = false; converged |= 1 << l; }
            }
            if (converged == (1 << count) - 1) return;
            if (lanes is not null)
            {
                int failed = lanes.BackwardPass(problem, examples, converged, st, ws.Qp);
                for (int l = 0; l < count; l++)
                {
                    if ((failed & (1 << l)) == 0) continue;
                    // As the scalar retry loop: this μ failed, so grow it and start over (on this example's linearization).
                    int b = group[l];
                    st.Reg[b] = Math.Max(st.Reg[b] * o.RegFactor, o.RegMin) * 10;
                    if (st.Reg[b] > o.RegMax) st.Active[b] = false;
                    else
                    {
                        lanes.Store(lin, l);
                        Ilqr.BackwardPassWithRetries(problem, lin, b, st, ws, o);
                    }
                }
            }
            else
                for (int l = 0; l < count; l++)
                    if ((converged & (1 << l)) == 0) Ilqr.BackwardPassWithRetries(problem, lin, group[l], st, ws, o);
            if (ws.Lanes is { } ll && dynLanes is not null && costLanes is not null)
            {
                // The lanes search together; examples stopped by the backward pass leave the group first.
                int searching = 0;
                for (int l = 0; l < count; l++) if (st.Active[group[l]]) group[searching++] = group[l];
                if (searching > 1)
                {
                    int from = ll.LineSearch(problem, st, o, group.AsSpan(0, searching), dynLanes, costLanes, out int rest);
                    if (from >= 0) LineSearch(ev, st, o, rest, ws, from);
                }
                else if (searching == 1) LineSearch(ev, st, o, group[0], ws);
            }
            else
                for (int l = 0; l < count; l++)
                    if (st.Active[group[l]]) LineSearch(ev, st, o, group[l], ws);
        }
    }

    /// <summary>Backtracking over the step sizes (from index firstStep) for one example: roll out u = ū + α·k + K·(x − x̄), clamp, test.</summary>
    private static void LineSearch(ProblemEvaluator ev, IlqrBuffers st, IlqrOptions o, int b, IlqrWorkspace ws, int firstStep = 0)
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
        for (int step = firstStep; step < o.LineSearchSteps.Length; step++)
        {
            double alpha = o.LineSearchSteps[step];
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
