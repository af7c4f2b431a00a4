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

    /// <summary>
    /// ‖P(dJ/dU)‖₂ along the nominal, by the costate recursion λ_T = ∇ℓ_T, g_t = ℓ_u + B_tᵀλ_{t+1},
    /// λ_t = ℓ_x + A_tᵀλ_{t+1}; P zeroes components at a bound whose descent direction leaves the box.
    /// </summary>
    internal static double ProjectedGradientNorm(TrajProblem p, Linearization lin, int b, double[] u, IlqrWorkspace ws)
    {
        int n = p.StateDim, m = p.ControlDim, T = p.Horizon;
        var lam = ws.Vx; var g = ws.Qu; var tmp = ws.Qx;
        lin.LxSpan(b, T).CopyTo(lam);
        double s = 0;
        for (int t = T - 1; t >= 0; t--)
        {
            lin.LuSpan(b, t).CopyTo(g);
            SmallDense.MatVec(lin.BSpan(b, t), lam, g, m, n, transA: true, accumulate: true);
            for (int i = 0; i < m; i++)
            {
                double ui = u[(b * T + t) * m + i];
                if (p.HasBounds && ((ui <= p.ControlLower![i] && g[i] > 0) || (ui >= p.ControlUpper![i] && g[i] < 0))) continue;
                s += g[i] * g[i];
            }
            lin.LxSpan(b, t).CopyTo(tmp);
            SmallDense.MatVec(lin.ASpan(b, t), lam, tmp, n, n, transA: true, accumulate: true);
            tmp.AsSpan(0, n).CopyTo(lam);
        }
        return Math.Sqrt(s);
    }

    /// <summary>
    /// The DDP backward pass for one example; false when some regularized Q_uu is not positive definite.
    /// Written as index loops over the flat arrays (no spans per product): for n of 3–50 the per-call
    /// overhead of generic kernels would cost more than the arithmetic.
    /// </summary>
    private static bool BackwardPass(TrajProblem p, Linearization lin, int b, IlqrBuffers st, IlqrWorkspace ws)
    {
        int n = p.StateDim, m = p.ControlDim, T = p.Horizon;
        double mu = st.Reg[b];
        double[] A = lin.A, Bu = lin.Bu, Lx = lin.Lx, Lxx = lin.Lxx, Lu = lin.Lu, Luu = lin.Luu, Lux = lin.Lux;
        double[] vx = ws.Vx, vxx = ws.Vxx, qx = ws.Qx, qu = ws.Qu, qxx = ws.Qxx, quu = ws.Quu, quuReg = ws.QuuReg, qux = ws.Qux;
        double[] vxxA = ws.VxxA, vxxB = ws.VxxB, quuK = ws.QuuK, tm = ws.Tm, col = ws.Col;
        double[] kffAll = st.Kff, kfbAll = st.Kfb;
        int xOff = (b * (T + 1) + T) * n;
        Array.Copy(Lx, xOff, vx, 0, n);
        Array.Copy(Lxx, xOff * n, vxx, 0, n * n);
        double dv1 = 0, dv2 = 0;
        for (int t = T - 1; t >= 0; t--)
        {
            int bt = b * T + t;
            int aO = bt * n * n, bO = bt * n * m, lxO = (b * (T + 1) + t) * n, luO = bt * m, uuO = bt * m * m, uxO = bt * m * n;
            // Q-function expansion: Qx = ℓx + AᵀVx, Qu = ℓu + BᵀVx.
            for (int i = 0; i < n; i++)
            {
                double acc = Lx[lxO + i];
                for (int j = 0; j < n; j++) acc += A[aO + j * n + i] * vx[j];
                qx[i] = acc;
            }
            for (int i = 0; i < m; i++)
            {
                double acc = Lu[luO + i];
                for (int j = 0; j < n; j++) acc += Bu[bO + j * m + i] * vx[j];
                qu[i] = acc;
            }
            // Vxx·A and Vxx·B.
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int s = 0; s < n; s++) acc += vxx[i * n + s] * A[aO + s * n + j];
                    vxxA[i * n + j] = acc;
                }
                for (int j = 0; j < m; j++)
                {
                    double acc = 0;
                    for (int s = 0; s < n; s++) acc += vxx[i * n + s] * Bu[bO + s * m + j];
                    vxxB[i * m + j] = acc;
                }
            }
            // Qxx = ℓxx + Aᵀ(Vxx A) (symmetric: the lower triangle is mirrored), Quu = ℓuu + Bᵀ(Vxx B), Qux = ℓux + Bᵀ(Vxx A).
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++)
                {
                    double acc = 0.5 * (Lxx[lxO * n + i * n + j] + Lxx[lxO * n + j * n + i]);
                    for (int s = 0; s < n; s++) acc += A[aO + s * n + i] * vxxA[s * n + j];
                    qxx[i * n + j] = acc;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++) qxx[j * n + i] = qxx[i * n + j];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    double acc = Luu[uuO + i * m + j];
                    for (int s = 0; s < n; s++) acc += Bu[bO + s * m + i] * vxxB[s * m + j];
                    quu[i * m + j] = acc;
                }
                for (int j = 0; j < n; j++)
                {
                    double acc = Lux[uxO + i * n + j];
                    for (int s = 0; s < n; s++) acc += Bu[bO + s * m + i] * vxxA[s * n + j];
                    qux[i * n + j] = acc;
                }
            }
            SmallDense.Symmetrize(quu, m);
            for (int i = 0; i < m * m; i++) quuReg[i] = quu[i];
            for (int i = 0; i < m; i++) quuReg[i * m + i] += mu;

            var k = kffAll.AsSpan(bt * m, m);
            var K = kfbAll.AsSpan(bt * m * n, m * n);
            if (p.HasBounds)
            {
                for (int i = 0; i < m; i++)
                {
                    double ui = st.U[bt * m + i];
                    ws.Lo[i] = p.ControlLower![i] - ui;
                    ws.Hi[i] = p.ControlUpper![i] - ui;
                }
                if (!ws.Qp.Solve(quuReg, qu, ws.Lo, ws.Hi, k)) return false;
                K.Clear();
                var free = ws.Qp.FreeIndices;
                int nf = free.Length;
                var factor = ws.Qp.FreeFactor;
                for (int j = 0; j < n; j++)
                {
                    for (int f = 0; f < nf; f++) col[f] = -qux[free[f] * n + j];
                    SmallDense.CholeskySolve(factor, nf, col);
                    for (int f = 0; f < nf; f++) K[free[f] * n + j] = col[f];
                }
            }
            else
            {
                var L = ws.L;
                for (int i = 0; i < m * m; i++) L[i] = quuReg[i];
                if (!SmallDense.Cholesky(L, m)) return false;
                for (int i = 0; i < m; i++) k[i] = -qu[i];
                SmallDense.CholeskySolve(L, m, k);
                for (int j = 0; j < n; j++)
                {
                    for (int i = 0; i < m; i++) col[i] = -qux[i * n + j];
                    SmallDense.CholeskySolve(L, m, col);
                    for (int i = 0; i < m; i++) K[i * n + j] = col[i];
                }
            }
            // Value function update (Tassa 2012 eq. 11, with the unregularized Q_uu):
            // Vx = Qx + Kᵀ(Quu k) + Kᵀ Qu + Quxᵀ k, Vxx = Qxx + Kᵀ(Quu K) + Kᵀ Qux + Quxᵀ K.
            double kqu = 0, kquuk = 0;
            for (int i = 0; i < m; i++)
            {
                double acc = 0;
                for (int j = 0; j < m; j++) acc += quu[i * m + j] * k[j];
                tm[i] = acc;
                kqu += k[i] * qu[i];
                kquuk += k[i] * acc;
            }
            dv1 += kqu;
            dv2 += 0.5 * kquuk;
            for (int j = 0; j < n; j++)
            {
                double acc = qx[j];
                for (int i = 0; i < m; i++) acc += K[i * n + j] * (tm[i] + qu[i]) + qux[i * n + j] * k[i];
                vx[j] = acc;
            }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (int s = 0; s < m; s++) acc += quu[i * m + s] * K[s * n + j];
                    quuK[i * n + j] = acc;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j <= i; j++)
                {
                    double acc = qxx[i * n + j];
                    for (int s = 0; s < m; s++)
                        acc += K[s * n + i] * (quuK[s * n + j] + qux[s * n + j]) + qux[s * n + i] * K[s * n + j];
                    vxx[i * n + j] = acc;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < i; j++) vxx[j * n + i] = vxx[i * n + j];
        }
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
