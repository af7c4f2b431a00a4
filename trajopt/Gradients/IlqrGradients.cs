using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// iLQR with a gradient: the solution U* as a Var connected to θ (the parameters inside f, ℓ, ℓ_T) and to x0.
/// <list type="bullet">
/// <item><see cref="GradientMode.Unrolled"/>: every iteration is recorded, from uInit to convergence (or
/// MaxIterations); an example that converges stops changing, as in <see cref="Ilqr.Solve"/>, but takes at
/// least one recorded step so that its U* always depends on θ.</item>
/// <item><see cref="GradientMode.Truncated"/>: MaxIterations − k plain numeric iterations
/// (<see cref="Ilqr.Solve"/>, warm-started from uInit, a constant for the gradient), then exactly k recorded
/// iterations continuing from there with the solver's μ; at a converged solution these are Newton steps at
/// the fixed point, whose gradient is the first k terms of the implicit one's Neumann series.</item>
/// <item><see cref="GradientMode.Implicit"/>: <see cref="Ilqr.Solve"/> then <see cref="IlqrImplicit.Attach"/>.</item>
/// <item><see cref="GradientMode.None"/>: <see cref="Ilqr.Solve"/>, a constant.</item>
/// </list>
/// A recorded iteration is the box-DDP iteration of <see cref="Ilqr.Solve"/> written with Var ops on a model
/// linearized with createGraph (<see cref="RecordedLinearization"/>); its discrete choices — μ, the controls
/// the box QP holds at a bound, the line-search step size α — are made numerically
/// (<see cref="DdpDecisions"/>, <see cref="DdpLineSearch"/>) and enter the graph as constants.
/// </summary>
public static class IlqrGradients
{
    /// <summary>k of <see cref="GradientMode.Truncated"/> when not given (DiffTORI's default).</summary>
    public const int DefaultTruncatedSteps = 5;

    /// <param name="x0">[B, n] initial states (gradients flow into it).</param>
    /// <param name="uInit">[B, T, m] initial controls (clamped to the bounds); unrolled mode differentiates through it too.</param>
    /// <param name="truncatedSteps">k of the truncated mode.</param>
    /// <param name="detachUnconverged">Unconverged examples get a constant U.</param>
    /// <param name="exactHessian">Implicit mode only: see <see cref="IlqrImplicit.Attach"/>.</param>
    public static IlqrDifferentiableResult Solve(TrajProblem problem, Var x0, Var uInit, GradientMode mode, IlqrOptions? options = null,
        int truncatedSteps = DefaultTruncatedSteps, bool detachUnconverged = false, bool exactHessian = true)
    {
        var o = options ?? new IlqrOptions();
        int n = problem.StateDim, m = problem.ControlDim, T = problem.Horizon;
        if (x0.Rank != 2 || x0.Shape[1] != n)
            throw new TensorShapeException($"IlqrGradients.Solve: x0 has shape {x0.Shape}, expected [B, {n}]");
        int B = x0.Shape[0];
        if (uInit.Shape != new Shape(B, T, m))
            throw new TensorShapeException($"IlqrGradients.Solve: uInit has shape {uInit.Shape}, expected [{B}, {T}, {m}]");
        if (truncatedSteps < 0)
            throw new ArgumentException($"IlqrGradients.Solve: truncatedSteps is {truncatedSteps}, must be ≥ 0");
        if (o.MaxIterations < 0)
            throw new ArgumentException($"IlqrGradients.Solve: MaxIterations is {o.MaxIterations}, must be ≥ 0");

        switch (mode)
        {
            case GradientMode.None:
            {
                var sol = Ilqr.Solve(problem, x0.Value, uInit.Value, o);
                return new IlqrDifferentiableResult(new Var(sol.U), sol.Status, []);
            }
            case GradientMode.Implicit:
            {
                var sol = Ilqr.Solve(problem, x0.Value, uInit.Value, o);
                return new IlqrDifferentiableResult(IlqrImplicit.Attach(problem, x0, sol, detachUnconverged, exactHessian), sol.Status, []);
            }
            case GradientMode.Unrolled:
            {
                problem.RequireDifferentiable("IlqrGradients.Solve (unrolled)");
                var st = new IlqrRunState(B);
                Array.Fill(st.Mu, o.RegInit);
                var u = ClampToBox(problem, uInit);
                var (uOut, rec) = Recorded(problem, x0, u, st, o, o.MaxIterations, freezeWhenConverged: true);
                // As Ilqr.Solve: an example stopped early with a small projected gradient has converged.
                for (int b = 0; b < B; b++)
                    if (!st.Converged[b] && st.Frozen[b] && !st.Failed[b] && st.GradNorm[b] < o.GradientTolerance) st.Converged[b] = true;
                return Finish(uOut, st, rec, extraIterations: null, detachUnconverged);
            }
            case GradientMode.Truncated:
            {
                problem.RequireDifferentiable("IlqrGradients.Solve (truncated)");
                var st = new IlqrRunState(B);
                Array.Fill(st.Mu, o.RegInit);
                var warm = uInit.Detach();
                int[]? numericIterations = null;
                int unrecorded = Math.Max(0, o.MaxIterations - truncatedSteps);
                if (unrecorded > 0)
                {
                    var sol = Ilqr.Solve(problem, x0.Value, uInit.Value, WithIterations(o, unrecorded));
                    warm = new Var(sol.U);
                    numericIterations = new int[B];
                    for (int b = 0; b < B; b++)
                    {
                        st.Mu[b] = Math.Min(sol.Status[b].Regularization, o.RegMax);
                        st.Converged[b] = sol.Status[b].Converged;
                        numericIterations[b] = sol.Status[b].Iterations;
                    }
                }
                var (uOut, rec) = Recorded(problem, x0, ClampToBox(problem, warm), st, o, Math.Min(truncatedSteps, o.MaxIterations), freezeWhenConverged: false);
                return Finish(uOut, st, rec, numericIterations, detachUnconverged);
            }
            default:
                throw new ArgumentException($"IlqrGradients.Solve: unknown gradient mode {mode}");
        }
    }

    /// <summary>
    /// Up to <paramref name="iterations"/> recorded box-DDP iterations from u. With freezeWhenConverged an example
    /// stops once converged (after its first step); without it every example steps every time it can.
    /// </summary>
    private static (Var U, List<IlqrRecordedIteration> Records) Recorded(TrajProblem p, Var x0, Var u, IlqrRunState st, IlqrOptions o,
        int iterations, bool freezeWhenConverged)
    {
        int B = st.Batch, m = p.ControlDim, T = p.Horizon;
        var ev = new ProblemEvaluator(p, x0.DType);
        var decisions = new DdpDecisions(p, B);
        double noise = DdpLineSearch.Noise(x0.DType);
        var records = new List<IlqrRecordedIteration>();
        var x0h = x0.Value.ToDoubleArray();
        using var _ = Autograd.EnableGrad();
        var x = Rollout.States(p, x0, u);
        var uh = u.Value.ToDoubleArray();
        var xh = x.Value.ToDoubleArray();
        ev.Costs(B, xh, uh, st.Cost);
        for (int b = 0; b < B; b++)
            if (!double.IsFinite(st.Cost[b]))
                throw new ArithmeticException($"IlqrGradients.Solve: example {b} has a non-finite initial cost {st.Cost[b]}");

        var stepping = new bool[B];
        var muUsed = new double[B];
        var alpha = new double[B];
        for (int iter = 0; iter < iterations && st.AnyActive(); iter++)
        {
            var lin = new RecordedLinearization(p, x, u);
            for (int b = 0; b < B; b++)
            {
                stepping[b] = false;
                if (st.Frozen[b]) continue;
                st.Iterations[b]++;
                st.GradNorm[b] = decisions.ProjectedGradientNorm(lin, b, uh);
                if (st.GradNorm[b] < o.GradientTolerance)
                {
                    st.Converged[b] = true;
                    if (freezeWhenConverged && iter > 0) { st.Frozen[b] = true; continue; }
                }
                while (!decisions.BackwardPass(lin, b, uh, st.Mu[b]))
                {
                    st.Mu[b] = Math.Max(st.Mu[b] * o.RegFactor, o.RegMin) * 10;
                    if (st.Mu[b] > o.RegMax) { st.Failed[b] = st.Frozen[b] = true; break; }
                }
                stepping[b] = !st.Frozen[b];
                muUsed[b] = st.Mu[b];
            }
            DdpLineSearch.Run(ev, st, decisions, x0h, xh, uh, (bool[])stepping.Clone(), o, noise, alpha);
            for (int b = 0; b < B; b++)
                if (st.Failed[b] || (freezeWhenConverged && st.Converged[b])) st.Frozen[b] = true;

            var clipped = new bool[B * T * m];
            (u, x) = RecordedDdpStep.Apply(p, x0, u, x, lin, decisions, muUsed, alpha, clipped);
            uh = u.Value.ToDoubleArray();
            xh = x.Value.ToDoubleArray();
            var held = new bool[B * T * m];
            for (int i = 0; i < held.Length; i++) held[i] = alpha[i / (T * m)] > 0 && decisions.Held[i];
            records.Add(new IlqrRecordedIteration((double[])alpha.Clone(), held, clipped));
        }
        return (u, records);
    }

    private static IlqrDifferentiableResult Finish(Var u, IlqrRunState st, List<IlqrRecordedIteration> rec, int[]? extraIterations, bool detachUnconverged)
    {
        var status = new SolveStatus[st.Batch];
        for (int b = 0; b < st.Batch; b++)
            status[b] = new SolveStatus(st.Converged[b], st.Iterations[b] + (extraIterations?[b] ?? 0), st.Cost[b], st.GradNorm[b], st.Mu[b]);
        if (detachUnconverged && u.RequiresGrad) u = LevenbergMarquardt.DetachWhere(u, status);
        return new IlqrDifferentiableResult(u, status, rec);
    }

    /// <summary>u clamped to the problem's box (decided on the values: a clamped entry becomes the bound, a constant).</summary>
    private static Var ClampToBox(TrajProblem p, Var u)
    {
        if (!p.HasBounds) return u;
        int m = p.ControlDim;
        var v = u.Value.ToDoubleArray();
        var below = new double[v.Length]; var above = new double[v.Length];
        bool any = false;
        for (int i = 0; i < v.Length; i++)
        {
            below[i] = v[i] < p.ControlLower![i % m] ? 1 : 0;
            above[i] = v[i] > p.ControlUpper![i % m] ? 1 : 0;
            any |= below[i] + above[i] > 0;
        }
        if (!any) return u;
        Var C(double[] a, in Shape s) => new(Tensor.FromDoubles(a, s, u.DType, u.Device));
        var bound = new Shape(m);
        return F.Where(C(below, u.Shape), C(p.ControlLower!, bound), F.Where(C(above, u.Shape), C(p.ControlUpper!, bound), u));
    }

    /// <summary>The options with another iteration limit (IlqrOptions is init-only).</summary>
    private static IlqrOptions WithIterations(IlqrOptions o, int iterations) => new()
    {
        MaxIterations = iterations,
        CostTolerance = o.CostTolerance,
        GradientTolerance = o.GradientTolerance,
        RegInit = o.RegInit,
        RegMin = o.RegMin,
        RegMax = o.RegMax,
        RegFactor = o.RegFactor,
        LineSearchSteps = o.LineSearchSteps,
        AcceptRatio = o.AcceptRatio,
    };
}
