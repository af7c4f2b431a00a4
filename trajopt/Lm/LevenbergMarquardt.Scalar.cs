using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

// The scalar-residual (R = 1) step and the graph-free unrecorded iterations.
public static partial class LevenbergMarquardt
{
    /// <summary>
    /// δ = −(ggᵀ + λI)⁻¹·g·r = −r·g/(λ + ‖g‖²) for r [B, 1], J [B, 1, D] (Sherman–Morrison), in Var ops so
    /// that recorded iterations differentiate it. Returns δ [B, D].
    /// </summary>
    private static Var ScalarStep(Var r, Var J, double[] lambda, LmOptions o, Stats st)
    {
        int B = r.Shape[0], D = J.Shape[2];
        var g = F.Reshape(J, B, D);
        var gv = g.Value.ToDoubleArray();
        var rv = r.Value.ToDoubleArray();
        for (int b = 0; b < B; b++)
        {
            double gg = SmallDense.Dot(gv.AsSpan(b * D, D), gv.AsSpan(b * D, D));
            st.GradNorm[b] = Math.Abs(rv[b]) * Math.Sqrt(gg);
            lambda[b] = ScalarDamping(lambda[b], gg, rv[b], D, o, st);
        }
        var lam = new Var(Tensor.FromDoubles(lambda, new Shape(B, 1), r.DType, r.Device));
        return -(g * r) / (lam + F.Sum(F.Square(g), 1, keepDims: true));
    }

    /// <summary>
    /// The guard of <see cref="GuardedFactor"/> for ggᵀ + λI, whose factorization fails exactly when λ ≤ 0
    /// (D ≥ 2) or λ + ‖g‖² ≤ 0 (D = 1): the same λ ×10 retries, counted as failures.
    /// </summary>
    private static double ScalarDamping(double lambda, double gg, double r, int D, LmOptions o, Stats st)
    {
        if (!double.IsFinite(gg) || !double.IsFinite(r))
            throw new ArithmeticException($"LevenbergMarquardt: the scalar residual ({r}) or its gradient (‖g‖² = {gg}) is not finite");
        for (int attempt = 0; !(D == 1 ? lambda + gg > 0 : lambda > 0); attempt++)
        {
            st.Failures++;
            lambda = attempt < o.FactorizationRetries ? Math.Max(lambda * 10, 1e-6) : Math.Max(lambda, 1e12);
        }
        return lambda;
    }

    /// <summary>
    /// <paramref name="count"/> unrecorded iterations on the kernel, the whole batch per kernel call (examples
    /// never interact, and the kernel reads the networks' weights once for all of them): the same steps as
    /// <see cref="Iterate"/> with record false, with no graph and no allocation per iteration. Returns the new u
    /// (a constant).
    /// </summary>
    private static Var UnrecordedIterations(IScalarResidualKernel kernel, Var u, int count, double[] lambda, LmOptions o, Stats st)
    {
        var uv = KernelIterations(kernel, u, count, lambda, o, st, trace: null);
        return new Var(Tensor.FromArray<float>(uv, u.Shape, u.Value.Device));
    }

    /// <summary>
    /// <paramref name="count"/> iterations on the kernel from u; returns the last iterate [B·D]. With a trace (and a
    /// kernel that records), iteration i evaluates through <see cref="ISecondOrderScalarKernel.EvaluateRecorded"/> and
    /// keeps in trace[i] what its backward pass needs.
    /// </summary>
    private static float[] KernelIterations(IScalarResidualKernel kernel, Var u, int count, double[] lambda, LmOptions o, Stats st, IterationTrace[]? trace)
    {
        int B = u.Shape[0], D = u.Shape[1];
        var uv = new float[B * D];
        using (var c = u.Value.Contiguous()) c.AsSpan<float>().CopyTo(uv);
        // With a trace, r and g are the trace's own arrays, iteration by iteration.
        float[] grad = trace is null ? new float[B * D] : [], r = trace is null ? new float[B] : [];
        var next = new float[B * D];
        var after = o.AdaptiveDamping ? new float[B] : [];
        float lo = (float)o.Lower, hi = (float)o.Upper;
        for (int i = 0; i < count; i++)
        {
            IterationTrace? it = null;
            if (trace is not null)
            {
                it = trace[i] = new IterationTrace(B, D);
                uv.CopyTo(it.U, 0);
                r = it.R;
                grad = it.G;
                ((ISecondOrderScalarKernel)kernel).EvaluateRecorded(i, uv, r, grad);
            }
            else kernel.Evaluate(0, B, uv, r, grad);
            for (int b = 0; b < B; b++)
            {
                st.LastStep[b] = ScalarKernelStep(r[b], grad.AsSpan(b * D, D), uv.AsSpan(b * D, D), next.AsSpan(b * D, D), ref lambda[b], lo, hi, o, st, b,
                    it is null ? default : it.Inside.AsSpan(b * D, D), out double denominator);
                if (it is not null) it.Denominator[b] = denominator;
            }
            if (o.AdaptiveDamping)
            {
                // Keep the step where ½r² fell, else stay and raise λ (as Iterate).
                kernel.Evaluate(0, B, next, after, default);
                for (int b = 0; b < B; b++)
                {
                    bool accept = 0.5 * after[b] * after[b] < 0.5 * (double)r[b] * r[b];
                    lambda[b] = AdaptedDamping(lambda[b], accept, o);
                    if (accept) next.AsSpan(b * D, D).CopyTo(uv.AsSpan(b * D, D));
                    else st.LastStep[b] = 0;
                    if (it is not null) it.Rejected[b] = !accept;
                }
            }
            else next.CopyTo(uv, 0);
        }
        return uv;
    }

    /// <summary>
    /// One example's Sherman–Morrison step from u to next = clamp(u + s·δ), δ = −r·g/(λ + ‖g‖²), with the damping
    /// guard; returns the step's largest coordinate. A recorded iteration also takes λ + ‖g‖² and where the box let
    /// u + s·δ through (lo ≤ u + s·δ ≤ hi, where F.Clamp passes the gradient).
    /// </summary>
    private static double ScalarKernelStep(float r, ReadOnlySpan<float> grad, ReadOnlySpan<float> u, Span<float> next,
        ref double lambda, float lo, float hi, LmOptions o, Stats st, int example, Span<bool> inside, out double denominator)
    {
        double gg = 0;
        for (int j = 0; j < grad.Length; j++) gg += (double)grad[j] * grad[j];
        st.GradNorm[example] = Math.Abs((double)r) * Math.Sqrt(gg);
        lambda = ScalarDamping(lambda, gg, r, grad.Length, o, st);
        denominator = lambda + gg;
        double scale = -r / denominator;
        double maxStep = 0;
        for (int j = 0; j < grad.Length; j++)
        {
            float delta = (float)(scale * grad[j]);
            float unclamped = u[j] + (float)(o.StepSize * delta);
            float v = Math.Clamp(unclamped, lo, hi);
            if (!inside.IsEmpty) inside[j] = unclamped >= lo && unclamped <= hi;
            next[j] = v;
            maxStep = Math.Max(maxStep, Math.Abs((double)v - u[j]));
        }
        return maxStep;
    }

    /// <summary>½r² per example by the kernel.</summary>
    private static double[] HalfSquaredNorm(IScalarResidualKernel kernel, Tensor u)
    {
        int B = u.Shape[0], D = u.Shape[1];
        var uv = new float[B * D];
        using (var c = u.Contiguous()) c.AsSpan<float>().CopyTo(uv);
        var r = new float[B];
        kernel.Evaluate(0, B, uv, r, default);
        var cost = new double[B];
        for (int b = 0; b < B; b++) cost[b] = 0.5 * (double)r[b] * r[b];
        return cost;
    }
}
