using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>Residual r(u): u [B, D] → r [B, R]. Rows must not interact (the solver replicates rows for Jacobians).</summary>
public delegate Var ResidualFn(Var u);

public sealed class LmOptions
{
    public int Iterations { get; init; } = 50;
    /// <summary>λ in (JᵀJ + λI)δ = −Jᵀr.</summary>
    public double Damping { get; init; } = 1e-3;
    /// <summary>Adaptive: a step that does not reduce ½‖r‖² is rejected and λ grows by DampingFactor; an accepted one shrinks it.</summary>
    public bool AdaptiveDamping { get; init; }
    public double DampingFactor { get; init; } = 2;
    public double MinDamping { get; init; } = 1e-9;
    public double MaxDamping { get; init; } = 1e12;
    /// <summary>u ← u + StepSize·δ.</summary>
    public double StepSize { get; init; } = 1;
    /// <summary>Box on every coordinate of u (applied after each step), or none.</summary>
    public double Lower { get; init; } = double.NegativeInfinity;
    public double Upper { get; init; } = double.PositiveInfinity;
    public GradientMode Gradient { get; init; } = GradientMode.Truncated;
    /// <summary>k of <see cref="GradientMode.Truncated"/> (DiffTORI uses 5).</summary>
    public int TruncatedSteps { get; init; } = 5;
    /// <summary>Damping of the implicit Gauss–Newton step (0 = exact); raised ×10 until the system factors.</summary>
    public double ImplicitDamping { get; init; } = 0;
    /// <summary>Converged when ‖StepSize·δ‖∞ falls below this.</summary>
    public double StepTolerance { get; init; } = 1e-8;
    /// <summary>Unconverged examples get a constant (detached) solution.</summary>
    public bool DetachUnconverged { get; init; }
    /// <summary>How often a failed Cholesky may raise λ ×10 before the step falls back to plain gradient descent.</summary>
    public int FactorizationRetries { get; init; } = 12;
    /// <summary>
    /// Whether the recorded iterations, too, run on the kernel when it differentiates itself
    /// (<see cref="ISecondOrderScalarKernel"/>): no graph, first-order gradients. False records them through
    /// the residual, which a backward pass with createGraph can differentiate again.
    /// </summary>
    public bool RecordOnKernel { get; init; } = true;
}

/// <summary>A batched LM solution: U [B, D] (connected to the graph as the gradient mode says) and per-example status.</summary>
public sealed record LmResult(Var U, SolveStatus[] Status, int FactorizationFailures);

/// <summary>
/// Levenberg–Marquardt / Gauss–Newton over a batch: δ = −(JᵀJ + λI)⁻¹Jᵀr per example, u ← clamp(u + s·δ).
/// J comes from one replicated reverse pass. Every factorization is guarded: a failed Cholesky raises
/// that example's λ and retries, and never throws. With a trajectory problem, the residual shoots
/// through the dynamics (see <see cref="Residuals"/>).
/// For a scalar residual (R = 1, DiffTORI's r = −G + c) JᵀJ + λI = ggᵀ + λI, and Sherman–Morrison gives
/// δ = −r·g/(λ + ‖g‖²) without a factorization; the guard's λ rule is kept (it raises λ where ggᵀ + λI
/// is not positive definite, i.e. λ ≤ 0).
/// </summary>
public static partial class LevenbergMarquardt
{
    /// <param name="kernel">
    /// Optional graph-free evaluation of the same scalar residual and its gradient in u (e.g.
    /// <see cref="MlpShootingResidual.Kernel"/>): the unrecorded iterations then run on it with no graph and
    /// no allocation. The recorded ones run on it too when it differentiates itself
    /// (<see cref="ISecondOrderScalarKernel"/>) and <see cref="LmOptions.RecordOnKernel"/> is on (one op, first-order
    /// gradients); otherwise they go through <paramref name="residual"/>, which stays the definition.
    /// </param>
    public static LmResult Solve(ResidualFn residual, Var uInit, LmOptions? options = null, IScalarResidualKernel? kernel = null)
    {
        var o = options ?? new LmOptions();
        if (uInit.Rank != 2) throw new TensorShapeException($"LevenbergMarquardt.Solve: uInit must be [B, D], got {uInit.Shape}");
        if (kernel is not null && kernel.Dim != uInit.Shape[1])
            throw new TensorShapeException($"LevenbergMarquardt.Solve: the residual kernel takes u of {kernel.Dim} elements, uInit is {uInit.Shape}");
        if (kernel is not null && (uInit.DType != DType.Float32 || !uInit.Value.Device.IsCpu)) kernel = null; // the kernels are float32 CPU
        if (o.Iterations < 0 || o.TruncatedSteps < 0) throw new ArgumentException($"LevenbergMarquardt.Solve: iterations {o.Iterations} and truncated steps {o.TruncatedSteps} must be ≥ 0");
        int B = uInit.Shape[0];
        var lambda = new double[B];
        Array.Fill(lambda, o.Damping);
        var st = new Stats(B);
        int recordFrom = o.Gradient switch
        {
            GradientMode.Unrolled => 0,
            GradientMode.Truncated => Math.Max(0, o.Iterations - o.TruncatedSteps),
            _ => o.Iterations,
        };
        Var u = o.Gradient == GradientMode.Unrolled ? uInit : uInit.Detach();
        int rDim = kernel is not null ? 1 : ResidualDim(residual, u);
        if (kernel is not null && recordFrom > 0) u = UnrecordedIterations(kernel, u, recordFrom, lambda, o, st);
        else using (Autograd.NoGrad())
            for (int i = 0; i < recordFrom; i++)
            {
                // Unrecorded iterations return every temporary buffer to the pool; only the new u survives.
                using var scope = Autograd.Scope();
                u = scope.Keep(Iterate(residual, u, lambda, o, record: false, st, rDim));
            }
        if (recordFrom < o.Iterations && o.RecordOnKernel && kernel is ISecondOrderScalarKernel differentiable)
            using (Autograd.EnableGrad()) u = RecordedKernelIterations(differentiable, u, o.Iterations - recordFrom, lambda, o, st);
        else if (recordFrom < o.Iterations)
        {
            using (Autograd.EnableGrad())
                for (int i = recordFrom; i < o.Iterations; i++) u = Iterate(residual, u, lambda, o, record: true, st, rDim);
        }
        double[] cost;
        if (kernel is not null) cost = HalfSquaredNorm(kernel, u.Value);
        else using (Autograd.NoGrad()) cost = HalfSquaredNorm(residual(u.Detach()));
        if (o.Gradient == GradientMode.Implicit) u = ImplicitStep(residual, u.Detach(), o, st);
        else if (o.Gradient == GradientMode.None) u = u.Detach();
        var status = new SolveStatus[B];
        for (int b = 0; b < B; b++) status[b] = new SolveStatus(st.LastStep[b] < o.StepTolerance, o.Iterations, cost[b], st.GradNorm[b], lambda[b]);
        if (o.DetachUnconverged && u.RequiresGrad) u = DetachWhere(u, status);
        return new LmResult(u, status, st.Failures);
    }

    private sealed class Stats(int b)
    {
        public readonly double[] LastStep = Fill(b, double.PositiveInfinity), GradNorm = new double[b];
        public int Failures;
        private static double[] Fill(int n, double v) { var a = new double[n]; Array.Fill(a, v); return a; }
    }

    /// <summary>One LM iteration for the whole batch; recorded (differentiable, with createGraph Jacobians) when record.</summary>
    private static Var Iterate(ResidualFn residual, Var u, double[] lambda, LmOptions o, bool record, Stats st, int rDim)
    {
        int B = u.Shape[0], D = u.Shape[1];
        var (r, J) = ResidualAndJacobian(residual, u, record, rDim);
        Var delta;
        if (rDim == 1) delta = ScalarStep(r, J, lambda, o, st);
        else
        {
            var jt = F.Transpose(J);                                  // [B, D, R]
            var g = F.Squeeze(F.Matmul(jt, F.Unsqueeze(r, -1)), -1);   // Jᵀr [B, D]
            var jtj = F.Matmul(jt, J);                                // [B, D, D]
            var gv = g.Value.ToDoubleArray();
            for (int b = 0; b < B; b++) st.GradNorm[b] = Math.Sqrt(SmallDense.Dot(gv.AsSpan(b * D, D), gv.AsSpan(b * D, D)));
            var l = GuardedFactor(jtj.Value, lambda, o, st, out var diag);
            if (record)
            {
                // The factor is recomputed differentiably; the guard above chose λ so that it succeeds.
                var h = jtj + new Var(diag);
                delta = -F.SolveSpd(h, F.Unsqueeze(g, -1));
            }
            else delta = -new Var(Ops.CholeskySolve(l, g.Value.Reshape(B, D, 1)));
        }
        delta = F.Reshape(delta, B, D);
        var step = o.StepSize * delta;
        var uNew = Clamp(u + step, o);
        using (Autograd.NoGrad())
        {
            var sv = (Clamp(u.Detach() + step.Detach(), o).Value.ToDoubleArray());
            var uv = u.Value.ToDoubleArray();
            for (int b = 0; b < B; b++)
            {
                double mx = 0;
                for (int i = 0; i < D; i++) mx = Math.Max(mx, Math.Abs(sv[b * D + i] - uv[b * D + i]));
                st.LastStep[b] = mx;
            }
        }
        if (!o.AdaptiveDamping) return uNew;
        // Adaptive damping: keep the step where ½‖r‖² fell, else stay and raise λ.
        double[] before = HalfSquaredNorm(r.Detach()), after;
        using (Autograd.NoGrad()) after = HalfSquaredNorm(residual(uNew.Detach()));
        var keep = new double[B * D];
        for (int b = 0; b < B; b++)
        {
            bool accept = after[b] < before[b];
            lambda[b] = AdaptedDamping(lambda[b], accept, o);
            if (!accept) st.LastStep[b] = 0;
            for (int i = 0; i < D; i++) keep[b * D + i] = accept ? 1 : 0;
        }
        var mask = new Var(Tensor.FromDoubles(keep, u.Shape, u.DType, u.Device));
        return mask * uNew + (1 - mask) * u;
    }

    /// <summary>Adaptive damping's new λ: shrunk by DampingFactor after a kept step, grown after a rejected one, within [MinDamping, MaxDamping].</summary>
    private static double AdaptedDamping(double lambda, bool accept, LmOptions o) =>
        accept ? Math.Max(o.MinDamping, lambda / o.DampingFactor) : Math.Min(o.MaxDamping, lambda * o.DampingFactor);

    /// <summary>
    /// Cholesky of JᵀJ + λ_b·I for the batch; where it fails, λ_b ×10 and again, up to the retry limit, then
    /// a large λ (a short gradient step). Never throws. Returns the factor and the diagonal that was added.
    /// </summary>
    private static Tensor GuardedFactor(Tensor jtj, double[] lambda, LmOptions o, Stats st, out Tensor diag)
    {
        int B = jtj.Shape[0], D = jtj.Shape[1];
        var dv = new double[B * D * D];
        for (int attempt = 0; ; attempt++)
        {
            for (int b = 0; b < B; b++) for (int i = 0; i < D; i++) dv[(b * D + i) * D + i] = lambda[b];
            diag = Tensor.FromDoubles(dv, jtj.Shape, jtj.DType, jtj.Device);
            using var h = Ops.Add(jtj, diag);
            var l = Ops.Cholesky(h, out var info);
            var iv = info.ToArray<int>();
            info.Dispose();
            bool ok = true;
            for (int b = 0; b < B; b++)
            {
                if (iv[b] == 0) continue;
                ok = false;
                st.Failures++;
                lambda[b] = attempt < o.FactorizationRetries ? Math.Max(lambda[b] * 10, 1e-6) : Math.Max(lambda[b], 1e12);
            }
            if (ok) return l;
            l.Dispose();
            diag.Dispose();
            if (attempt > o.FactorizationRetries + 1)
                throw new ArithmeticException("LevenbergMarquardt: JᵀJ + λI does not factor even with λ = 1e12 (non-finite residuals or Jacobian?)");
        }
    }

    /// <summary>
    /// u* + δ − stopgrad(δ) with δ = −(JᵀJ + εI)⁻¹·∇_u ½‖r(u*; θ)‖²: the value stays u*, and the gradient is the
    /// implicit-function rule with the Gauss–Newton matrix (detached) standing in for the Hessian. Coordinates
    /// at the box whose gradient pushes outward are held fixed. ε starts at ImplicitDamping and grows ×10 until
    /// the system factors (a singular GN matrix, e.g. the rank-one JᵀJ of a scalar residual, gets a damped solve).
    /// </summary>
    private static Var ImplicitStep(ResidualFn residual, Var uStar, LmOptions o, Stats st)
    {
        int B = uStar.Shape[0], D = uStar.Shape[1];
        Tensor jtj;
        using (Autograd.NoGrad())
        {
            var (_, J) = ResidualAndJacobian(residual, uStar, record: false, ResidualDim(residual, uStar));
            jtj = F.Matmul(F.Transpose(J), J).Value;
        }
        using (Autograd.EnableGrad())
        {
            var leaf = new Var(uStar.Value, requiresGrad: true);
            var r = residual(leaf);
            var g = Autograd.Grad([0.5 * F.Sum(F.Square(r))], [leaf], createGraph: true)[0];
            var free = FreeMask(uStar.Value.ToDoubleArray(), g.Value.ToDoubleArray(), o);
            var jd = jtj.ToDoubleArray();
            for (int b = 0; b < B; b++)
                for (int i = 0; i < D; i++)
                    for (int j = 0; j < D; j++)
                        if (free[b * D + i] == 0 || free[b * D + j] == 0) jd[(b * D + i) * D + j] = i == j ? 1 : 0;
            var eps = new double[B];
            Array.Fill(eps, o.ImplicitDamping);
            var l = GuardedFactor(Tensor.FromDoubles(jd, jtj.Shape, jtj.DType, jtj.Device), eps, o, st, out _);
            var mask = new Var(Tensor.FromDoubles(free, uStar.Shape, uStar.DType, uStar.Device));
            var delta = -F.Reshape(F.CholeskySolve(new Var(l), F.Unsqueeze(mask * g, -1)), B, D) * mask;
            return new Var(uStar.Value) + (delta - new Var(delta.Value));
        }
    }


    /// <summary>1 for coordinates off the box or with a gradient pointing into it; 0 for active bounds.</summary>
    internal static double[] FreeMask(double[] u, double[] g, LmOptions o)
    {
        var m = new double[u.Length];
        for (int i = 0; i < u.Length; i++)
        {
            bool active = (u[i] <= o.Lower && g[i] > 0) || (u[i] >= o.Upper && g[i] < 0);
            m[i] = active ? 0 : 1;
        }
        return m;
    }

    /// <summary>r(u) [B, R] and J = ∂r/∂u [B, R, D] from one reverse pass over R replicated copies of the batch.</summary>
    /// <param name="residualDim">R when known (saves a forward pass that only measures it).</param>
    public static (Var R, Var J) ResidualAndJacobian(ResidualFn residual, Var u, bool record, int residualDim = 0)
    {
        int B = u.Shape[0], D = u.Shape[1];
        int R = residualDim > 0 ? residualDim : ResidualDim(residual, u);
        using (Autograd.EnableGrad())
        {
            Var rep = record && u.RequiresGrad
                ? F.Reshape(F.Expand(F.Unsqueeze(u, 0), new Shape(R, B, D)), R * B, D)
                : new Var(u.Value.Reshape(1, B, D).Expand(new Shape(R, B, D)).Contiguous().Reshape(R * B, D), requiresGrad: true);
            var rr = residual(rep);
            var seed = new double[R * B * R];
            for (int k = 0; k < R; k++) for (int b = 0; b < B; b++) seed[(k * B + b) * R + k] = 1;
            var seedVar = new Var(Tensor.FromDoubles(seed, new Shape(R * B, R), u.DType, u.Device));
            var j = Autograd.Grad([rr], [rep], [seedVar], createGraph: record, allowUnused: true)[0];
            var J = F.Permute(F.Reshape(j, R, B, D), 1, 0, 2);
            if (rr.Shape != new Shape(R * B, R))
                throw new TensorShapeException($"LevenbergMarquardt: residual maps {rep.Shape} to {rr.Shape}, expected [{R * B}, {R}]");
            var r = R == 1 ? rr : F.Narrow(rr, 0, 0, B);
            return (record ? r : r.Detach(), J);
        }
    }

    private static int ResidualDim(ResidualFn residual, Var u)
    {
        Var r0;
        using (Autograd.NoGrad()) r0 = residual(u.Detach());
        if (r0.Rank != 2 || r0.Shape[0] != u.Shape[0])
            throw new TensorShapeException($"LevenbergMarquardt: residual maps u {u.Shape} to {r0.Shape}, expected [{u.Shape[0]}, R]");
        return r0.Shape[1];
    }

    private static Var Clamp(Var u, LmOptions o) =>
        double.IsNegativeInfinity(o.Lower) && double.IsPositiveInfinity(o.Upper) ? u : F.Clamp(u, o.Lower, o.Upper);

    private static double[] HalfSquaredNorm(Var r)
    {
        int B = r.Shape[0], R = r.Shape[1];
        var v = r.Value.ToDoubleArray();
        var c = new double[B];
        for (int b = 0; b < B; b++) c[b] = 0.5 * SmallDense.Dot(v.AsSpan(b * R, R), v.AsSpan(b * R, R));
        return c;
    }

    internal static Var DetachWhere(Var u, SolveStatus[] status)
    {
        int B = u.Shape[0], D = u.Length / B;
        var keep = new double[u.Length];
        for (int b = 0; b < B; b++) for (int i = 0; i < D; i++) keep[b * D + i] = status[b].Converged ? 1 : 0;
        var mask = new Var(Tensor.FromDoubles(keep, u.Shape, u.DType, u.Device));
        return mask * u + (1 - mask) * new Var(u.Value);
    }
}
