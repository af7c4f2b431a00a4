using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// Evaluates a <see cref="TrajProblem"/> on flat double arrays for the solvers: rollouts with their
/// costs, and linearizations. Analytic models run per example; Var models run batched, and their
/// Jacobians and Hessians come from one replicated reverse pass (rows k·R + r carry output k of row r).
/// </summary>
public sealed class ProblemEvaluator
{
    private readonly TrajProblem _p;
    private readonly DType _dtype;
    private readonly int _n, _m, _T;

    public ProblemEvaluator(TrajProblem problem, DType dtype)
    {
        problem.RequireSolvable("ProblemEvaluator");
        _p = problem;
        _dtype = dtype;
        _n = problem.StateDim; _m = problem.ControlDim; _T = problem.Horizon;
    }

    public TrajProblem Problem => _p;

    /// <summary>X [B,T+1,n] from x0 [B,n] and U [B,T,m]; cost [B] the total cost of each example.</summary>
    public void Rollout(int batch, ReadOnlySpan<double> x0, ReadOnlySpan<double> u, Span<double> x, Span<double> cost)
    {
        int n = _n, m = _m, T = _T;
        for (int b = 0; b < batch; b++) x0.Slice(b * n, n).CopyTo(x.Slice(b * (T + 1) * n, n));
        if (_p.AnalyticDynamics is { } dyn)
        {
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < T; t++)
                {
                    int xo = (b * (T + 1) + t) * n;
                    dyn.Step(x.Slice(xo, n), u.Slice((b * T + t) * m, m), x.Slice(xo + n, n), default, default);
                }
        }
        else
        {
            using var _ = Autograd.NoGrad();
            var xt = new double[batch * n];
            var ut = new double[batch * m];
            for (int t = 0; t < T; t++)
            {
                Gather(x, xt, batch, T + 1, t, n);
                Gather(u, ut, batch, T, t, m);
                var next = _p.Dynamics!(Leaf(xt, batch, n), Leaf(ut, batch, m)).Value.ToDoubleArray();
                Scatter(next, x, batch, T + 1, t + 1, n);
            }
        }
        Costs(batch, x, u, cost);
    }

    /// <summary>One dynamics step for a batch: next [B,n] = f(x [B,n], u [B,m]); rows with active false may be skipped.</summary>
    public void Step(int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> next, bool[]? active = null)
    {
        int n = _n, m = _m;
        if (_p.AnalyticDynamics is { } dyn)
        {
            for (int b = 0; b < batch; b++)
                if (active is null || active[b])
                    dyn.Step(x.Slice(b * n, n), u.Slice(b * m, m), next.Slice(b * n, n), default, default);
            return;
        }
        using var _ = Autograd.NoGrad();
        var y = _p.Dynamics!(Leaf(x, batch, n), Leaf(u, batch, m)).Value;
        if (y.Shape != new Shape(batch, n))
            throw new TensorShapeException($"TrajProblem dynamics: maps [{batch}, {n}] and [{batch}, {m}] to {y.Shape}");
        y.ToDoubleArray().AsSpan().CopyTo(next);
    }

    /// <summary>Total cost [B] of given trajectories.</summary>
    public void Costs(int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> cost)
    {
        int n = _n, m = _m, T = _T;
        cost.Slice(0, batch).Clear();
        if (_p.AnalyticCost is { } c)
        {
            for (int b = 0; b < batch; b++)
            {
                double s = 0;
                for (int t = 0; t < T; t++)
                    s += c.Stage(t, x.Slice((b * (T + 1) + t) * n, n), u.Slice((b * T + t) * m, m), default, default, default, default, default);
                s += c.Terminal(x.Slice((b * (T + 1) + T) * n, n), default, default);
                cost[b] = s;
            }
            return;
        }
        using var _ = Autograd.NoGrad();
        var xt = new double[batch * n];
        var ut = new double[batch * m];
        for (int t = 0; t < T; t++)
        {
            Gather(x, xt, batch, T + 1, t, n);
            Gather(u, ut, batch, T, t, m);
            var l = _p.StageCost!(Leaf(xt, batch, n), Leaf(ut, batch, m), t).Value.ToDoubleArray();
            RequireLength("stage cost", l.Length, batch);
            for (int b = 0; b < batch; b++) cost[b] += l[b];
        }
        if (_p.TerminalCost is { } term)
        {
            Gather(x, xt, batch, T + 1, T, n);
            var l = term(Leaf(xt, batch, n)).Value.ToDoubleArray();
            RequireLength("terminal cost", l.Length, batch);
            for (int b = 0; b < batch; b++) cost[b] += l[b];
        }
    }

    /// <summary>Fill lin with the derivatives along (X, U).</summary>
    public void Linearize(int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Linearization lin)
    {
        if (_p.AnalyticDynamics is { } dyn)
        {
            var next = new double[_n];
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < _T; t++)
                    dyn.Step(x.Slice((b * (_T + 1) + t) * _n, _n), u.Slice((b * _T + t) * _m, _m), next, lin.ASpan(b, t), lin.BSpan(b, t));
        }
        else DynamicsJacobians(batch, x, u, lin);

        if (_p.AnalyticCost is { } c)
        {
            for (int b = 0; b < batch; b++)
            {
                for (int t = 0; t < _T; t++)
                    c.Stage(t, x.Slice((b * (_T + 1) + t) * _n, _n), u.Slice((b * _T + t) * _m, _m),
                        lin.LxSpan(b, t), lin.LuSpan(b, t), lin.LxxSpan(b, t), lin.LuuSpan(b, t), lin.LuxSpan(b, t));
                c.Terminal(x.Slice((b * (_T + 1) + _T) * _n, _n), lin.LxSpan(b, _T), lin.LxxSpan(b, _T));
            }
        }
        else CostDerivatives(batch, x, u, lin);
    }

    /// <summary>Fill example b's blocks of lin along (X, U) [B,T+1,n]/[B,T,m]; closed-form models only. next [n] is scratch.</summary>
    public void LinearizeExample(int b, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Linearization lin, Span<double> next)
    {
        var dyn = _p.AnalyticDynamics ?? throw new InvalidOperationException("ProblemEvaluator.LinearizeExample: needs analytic dynamics");
        var c = _p.AnalyticCost ?? throw new InvalidOperationException("ProblemEvaluator.LinearizeExample: needs an analytic cost");
        int n = _n, m = _m, T = _T;
        for (int t = 0; t < T; t++)
        {
            var xt = x.Slice((b * (T + 1) + t) * n, n); var ut = u.Slice((b * T + t) * m, m);
            dyn.Step(xt, ut, next, lin.ASpan(b, t), lin.BSpan(b, t));
            c.Stage(t, xt, ut, lin.LxSpan(b, t), lin.LuSpan(b, t), lin.LxxSpan(b, t), lin.LuuSpan(b, t), lin.LuxSpan(b, t));
        }
        c.Terminal(x.Slice((b * (T + 1) + T) * n, n), lin.LxSpan(b, T), lin.LxxSpan(b, T));
    }

    /// <summary>Total cost of one example's trajectory x [T+1,n], u [T,m]; closed-form cost only (same sum as <see cref="Costs"/>).</summary>
    public double ExampleCost(ReadOnlySpan<double> x, ReadOnlySpan<double> u)
    {
        var c = _p.AnalyticCost ?? throw new InvalidOperationException("ProblemEvaluator.ExampleCost: needs an analytic cost");
        int n = _n, m = _m, T = _T;
        double s = 0;
        for (int t = 0; t < T; t++) s += c.Stage(t, x.Slice(t * n, n), u.Slice(t * m, m), default, default, default, default, default);
        return s + c.Terminal(x.Slice(T * n, n), default, default);
    }

    // All T steps of all B examples in one replicated pass: rows (k, t, b) → output k of f(x_t^b, u_t^b).
    private void DynamicsJacobians(int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Linearization lin)
    {
        int n = _n, m = _m, T = _T, rows = T * batch, R = n * rows;
        var xr = new double[R * n];
        var ur = new double[R * m];
        var seed = new double[R * n];
        for (int k = 0; k < n; k++)
            for (int t = 0; t < T; t++)
                for (int b = 0; b < batch; b++)
                {
                    int r = k * rows + t * batch + b;
                    x.Slice((b * (T + 1) + t) * n, n).CopyTo(xr.AsSpan(r * n, n));
                    u.Slice((b * T + t) * m, m).CopyTo(ur.AsSpan(r * m, m));
                    seed[r * n + k] = 1;
                }
        double[] gx, gu;
        using (Autograd.EnableGrad())
        {
            var xv = new Var(Tensor.FromDoubles(xr, new Shape(R, n), _dtype), requiresGrad: true);
            var uv = new Var(Tensor.FromDoubles(ur, new Shape(R, m), _dtype), requiresGrad: true);
            var y = _p.Dynamics!(xv, uv);
            if (y.Shape != new Shape(R, n))
                throw new TensorShapeException($"TrajProblem dynamics: maps x {xv.Shape}, u {uv.Shape} to {y.Shape}, expected [{R}, {n}]");
            var g = Autograd.Grad([y], [xv, uv], [Leaf(seed, R, n)], allowUnused: true);
            gx = g[0].Value.ToDoubleArray();
            gu = g[1].Value.ToDoubleArray();
        }
        for (int k = 0; k < n; k++)
            for (int t = 0; t < T; t++)
                for (int b = 0; b < batch; b++)
                {
                    int r = k * rows + t * batch + b;
                    gx.AsSpan(r * n, n).CopyTo(lin.ASpan(b, t).Slice(k * n, n));
                    gu.AsSpan(r * m, m).CopyTo(lin.BSpan(b, t).Slice(k * m, m));
                }
    }

    private void CostDerivatives(int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Linearization lin)
    {
        int n = _n, m = _m, T = _T;
        var xt = new double[batch * n];
        var ut = new double[batch * m];
        for (int t = 0; t < T; t++)
        {
            Gather(x, xt, batch, T + 1, t, n);
            Gather(u, ut, batch, T, t, m);
            int tt = t;
            var (g, h) = GradHessian(batch, xt, ut, (xv, uv) => _p.StageCost!(xv, uv!, tt));
            int N = n + m;
            for (int b = 0; b < batch; b++)
            {
                var lx = lin.LxSpan(b, t); var lu = lin.LuSpan(b, t);
                var lxx = lin.LxxSpan(b, t); var luu = lin.LuuSpan(b, t); var lux = lin.LuxSpan(b, t);
                for (int i = 0; i < n; i++) lx[i] = g[b * N + i];
                for (int i = 0; i < m; i++) lu[i] = g[b * N + n + i];
                for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) lxx[i * n + j] = h[(b * N + i) * N + j];
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < m; j++) luu[i * m + j] = h[(b * N + n + i) * N + n + j];
                    for (int j = 0; j < n; j++) lux[i * n + j] = h[(b * N + n + i) * N + j];
                }
            }
        }
        for (int b = 0; b < batch; b++) { lin.LxSpan(b, T).Clear(); lin.LxxSpan(b, T).Clear(); }
        if (_p.TerminalCost is { } term)
        {
            Gather(x, xt, batch, T + 1, T, n);
            var (g, h) = GradHessian(batch, xt, null, (xv, _) => term(xv));
            for (int b = 0; b < batch; b++)
            {
                g.AsSpan(b * n, n).CopyTo(lin.LxSpan(b, T));
                h.AsSpan(b * n * n, n * n).CopyTo(lin.LxxSpan(b, T));
            }
        }
    }

    /// <summary>
    /// Add the dynamics' curvature Σ_i λ_{t+1,i}·∇²f_i(x_t, u_t) to the cost Hessians in lin (t &lt; T), with the
    /// costate λ_T = ∇ℓ_T, λ_t = ∇_xℓ_t + A_tᵀλ_{t+1} taken from lin. Together the blocks are the Hessian of the
    /// Lagrangian, so an LQR sweep on them applies the exact Hessian of the shooting objective. Closed form when the
    /// analytic dynamics give it (<see cref="IAnalyticDynamicsCurvature"/>), else from the Var dynamics, all T steps
    /// in one replicated pass.
    /// </summary>
    public void AddDynamicsCurvature(int batch, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Linearization lin)
    {
        if (_p.Dynamics is null && _p.AnalyticDynamics is not IAnalyticDynamicsCurvature)
            throw new InvalidOperationException("ProblemEvaluator.AddDynamicsCurvature: needs the Var dynamics or closed-form curvature");
        int n = _n, m = _m, T = _T, rows = T * batch, N = n + m;
        var lam = new double[batch * (T + 1) * n];
        var tmp = new double[n];
        for (int b = 0; b < batch; b++)
        {
            lin.LxSpan(b, T).CopyTo(lam.AsSpan((b * (T + 1) + T) * n, n));
            for (int t = T - 1; t >= 0; t--)
            {
                lin.LxSpan(b, t).CopyTo(tmp);
                SmallDense.MatVec(lin.ASpan(b, t), lam.AsSpan((b * (T + 1) + t + 1) * n, n), tmp, n, n, transA: true, accumulate: true);
                tmp.CopyTo(lam.AsSpan((b * (T + 1) + t) * n, n));
            }
        }
        if (_p.AnalyticDynamics is IAnalyticDynamicsCurvature closedForm)
        {
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < T; t++)
                    closedForm.AddCurvature(x.Slice((b * (T + 1) + t) * n, n), u.Slice((b * T + t) * m, m), lam.AsSpan((b * (T + 1) + t + 1) * n, n),
                        lin.LxxSpan(b, t), lin.LuuSpan(b, t), lin.LuxSpan(b, t));
            return;
        }
        var xs = new double[rows * n]; var us = new double[rows * m]; var ls = new double[rows * n];
        for (int t = 0; t < T; t++)
            for (int b = 0; b < batch; b++)
            {
                int r = t * batch + b;
                x.Slice((b * (T + 1) + t) * n, n).CopyTo(xs.AsSpan(r * n, n));
                u.Slice((b * T + t) * m, m).CopyTo(us.AsSpan(r * m, m));
                lam.AsSpan((b * (T + 1) + t + 1) * n, n).CopyTo(ls.AsSpan(r * n, n));
            }
        var (_, h) = GradHessian(rows, xs, us, (xv, uv) =>
        {
            int copies = xv.Shape[0] / rows;
            var tiled = new double[copies * rows * n];
            for (int k = 0; k < copies; k++) ls.CopyTo(tiled, k * rows * n);
            var lv = Leaf(tiled, copies * rows, n);
            return F.Sum(_p.Dynamics!(xv, uv!) * lv, 1);
        });
        for (int t = 0; t < T; t++)
            for (int b = 0; b < batch; b++)
            {
                int r = t * batch + b;
                var lxx = lin.LxxSpan(b, t); var luu = lin.LuuSpan(b, t); var lux = lin.LuxSpan(b, t);
                for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) lxx[i * n + j] += h[(r * N + i) * N + j];
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < m; j++) luu[i * m + j] += h[(r * N + n + i) * N + n + j];
                    for (int j = 0; j < n; j++) lux[i * n + j] += h[(r * N + n + i) * N + j];
                }
            }
    }

    /// <summary>
    /// Gradient [B, N] and Hessian [B, N, N] of a per-row scalar c(x, u) (N = n + m, or n without u), by
    /// replicating the rows N times: one forward, one reverse pass with createGraph, one more reverse pass
    /// seeded with one-hot rows.
    /// </summary>
    private (double[] Grad, double[] Hess) GradHessian(int batch, double[] xt, double[]? ut, Func<Var, Var?, Var> c)
    {
        int n = _n, m = ut is null ? 0 : _m, N = n + m, R = N * batch;
        var xr = new double[R * n];
        var ur = new double[R * Math.Max(m, 1)];
        var sx = new double[R * n];
        var su = new double[R * Math.Max(m, 1)];
        for (int k = 0; k < N; k++)
            for (int b = 0; b < batch; b++)
            {
                int r = k * batch + b;
                xt.AsSpan(b * n, n).CopyTo(xr.AsSpan(r * n, n));
                if (m > 0) ut!.AsSpan(b * m, m).CopyTo(ur.AsSpan(r * m, m));
                if (k < n) sx[r * n + k] = 1; else su[r * m + k - n] = 1;
            }
        var grad = new double[batch * N];
        var hess = new double[batch * N * N];
        using (Autograd.EnableGrad())
        {
            var xv = new Var(Tensor.FromDoubles(xr, new Shape(R, n), _dtype), requiresGrad: true);
            Var? uv = m > 0 ? new Var(Tensor.FromDoubles(ur, new Shape(R, m), _dtype), requiresGrad: true) : null;
            var cv = c(xv, uv);
            if (cv.Shape != new Shape(R))
                throw new TensorShapeException($"TrajProblem cost: maps {R} rows to shape {cv.Shape}, expected [{R}]");
            Var[] inputs = uv is null ? [xv] : [xv, uv];
            var ones = new Var(Tensor.Full(new Shape(R), 1.0, _dtype));
            var g = Autograd.Grad([cv], inputs, [ones], createGraph: true, allowUnused: true);
            var gx = g[0].Value.ToDoubleArray();
            var gu = uv is null ? null : g[1].Value.ToDoubleArray();
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < n; i++) grad[b * N + i] = gx[b * n + i];
                for (int i = 0; i < m; i++) grad[b * N + n + i] = gu![b * m + i];
            }
            bool curved = g[0].RequiresGrad || (uv is not null && g[1].RequiresGrad);
            if (curved)
            {
                var seeds = uv is null ? new[] { Leaf(sx, R, n) } : new[] { Leaf(sx, R, n), Leaf(su, R, m) };
                var h = Autograd.Grad(g, inputs, seeds, allowUnused: true);
                var hx = h[0].Value.ToDoubleArray();
                var hu = uv is null ? null : h[1].Value.ToDoubleArray();
                for (int k = 0; k < N; k++)
                    for (int b = 0; b < batch; b++)
                    {
                        int r = k * batch + b, row = (b * N + k) * N;
                        for (int j = 0; j < n; j++) hess[row + j] = hx[r * n + j];
                        for (int j = 0; j < m; j++) hess[row + n + j] = hu![r * m + j];
                    }
                // Symmetrize: the two triangles come from different reverse paths and may differ by rounding.
                for (int b = 0; b < batch; b++)
                    for (int i = 0; i < N; i++)
                        for (int j = 0; j < i; j++)
                        {
                            int ij = (b * N + i) * N + j, ji = (b * N + j) * N + i;
                            double s = 0.5 * (hess[ij] + hess[ji]);
                            hess[ij] = s; hess[ji] = s;
                        }
            }
        }
        return (grad, hess);
    }

    private Var Leaf(ReadOnlySpan<double> data, int rows, int cols) => new(Tensor.FromDoubles(data.Slice(0, rows * cols), new Shape(rows, cols), _dtype));

    /// <summary>Copy time slice t of a [B, steps, d] array into [B, d].</summary>
    internal static void Gather(ReadOnlySpan<double> src, Span<double> dst, int batch, int steps, int t, int d)
    {
        for (int b = 0; b < batch; b++) src.Slice((b * steps + t) * d, d).CopyTo(dst.Slice(b * d, d));
    }

    internal static void Scatter(ReadOnlySpan<double> src, Span<double> dst, int batch, int steps, int t, int d)
    {
        for (int b = 0; b < batch; b++) src.Slice(b * d, d).CopyTo(dst.Slice((b * steps + t) * d, d));
    }

    private static void RequireLength(string what, int got, int batch)
    {
        if (got != batch) throw new TensorShapeException($"TrajProblem {what}: returned {got} values for a batch of {batch} rows, expected one per row");
    }
}
