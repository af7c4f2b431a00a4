using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    /// <summary>
    /// Mean squared error mean((a − b)²). For operands of one shape this is one fused op (one pass forward,
    /// one pass per gradient); with broadcasting (b broadcast to a) it is <see cref="MseComposite"/>.
    /// Rules: ∂a = (a − b)·2g/N, ∂b = −∂a (written with F ops, so they are differentiable again).
    /// </summary>
    public static Var Mse(Var a, Var b)
    {
        if (a.Shape != b.Shape || a.DType != b.DType || a.Length == 0) return MseComposite(a, b);
        var value = ElementwiseKernels.MeanSquaredError(a.Value, b.Value);
        return Record.Op("mse", value, a, b, static (n, g) =>
        {
            double scale = 2.0 / n.A.Length;
            if (!Autograd.IsGradEnabled && ElementwiseKernels.ScaledDifference(n.A.Value, n.B.Value, g.Value, scale, n.Needs(0), n.Needs(1)) is { } fast)
                return (fast.A is { } ga ? Constant(ga) : null, fast.B is { } gb ? Constant(gb) : null);
            var d = (n.A - n.B) * (g * scale);
            return (n.Needs(0) ? d : null, n.Needs(1) ? -d : null);
        });
    }

    /// <summary>mean((a − b)²) from primitives (b broadcast to a), for comparison with the fused <see cref="Mse"/>.</summary>
    public static Var MseComposite(Var a, Var b) => Mean(Square(a - b));

    /// <summary>Sum of squared errors with weights w (e.g. per-step ρᵗ or priority weights): Σ w·(a − b)².</summary>
    public static Var WeightedSse(Var a, Var b, Var weight) => Sum(weight * Square(a - b));

    /// <summary>
    /// Mean cross-entropy of logits [N, C] against int32 class targets [N]. Fused: one log-softmax in the
    /// forward and the rule ∂logits = (softmax − onehot)·g/N. (Composite: <see cref="CrossEntropyComposite"/>.)
    /// </summary>
    public static Var CrossEntropy(Var logits, Tensor targets)
    {
        CheckCrossEntropy(logits, targets);
        int n = logits.Shape[0];
        using var logp = Ops.LogSoftmax(logits.Value, 1);
        using var column = targets.Reshape(n, 1);
        using var picked = Ops.Gather(logp, 1, column);
        using var total = Ops.Mean(picked);
        var value = Ops.Neg(total);
        var y = Record.Op("cross_entropy", value, logits, static (node, g) =>
        {
            var x = node.A;
            var targets = (Tensor)node.Extra!;
            using var column = targets.Reshape(targets.Length, 1);
            using var ones = Tensor.Ones(column.Shape, x.DType, x.Device);
            var oneHot = Constant(Ops.ScatterAdd(x.Shape, 1, column, ones));
            return (Softmax(x, 1) - oneHot) * (g * (1.0 / x.Shape[0]));
        });
        y.Node?.Extra = targets;
        return y;
    }

    private static void CheckCrossEntropy(Var logits, Tensor targets)
    {
        if (logits.Rank != 2) throw new TensorShapeException($"F.CrossEntropy: logits must be [N, C], got {logits.Shape}");
        Require.Int32("F.CrossEntropy", targets);
        if (targets.Rank != 1 || targets.Shape[0] != logits.Shape[0])
            throw new TensorShapeException($"F.CrossEntropy: targets must be [N] = [{logits.Shape[0]}], got {targets.Shape}");
    }

    /// <summary>log N(x; mean, exp(logStd)²) elementwise: −½((x−μ)/σ)² − log σ − ½ log 2π.</summary>
    public static Var GaussianLogProb(Var x, Var mean, Var logStd)
    {
        var z = (x - mean) * Exp(-logStd);
        return -0.5 * Square(z) - logStd - 0.5 * Math.Log(2 * Math.PI);
    }

    /// <summary>KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) elementwise, with σ = exp(logStd): log σ₂/σ₁ + (σ₁² + (μ₁−μ₂)²)/(2σ₂²) − ½.</summary>
    public static Var KlNormal(Var mean1, Var logStd1, Var mean2, Var logStd2)
    {
        var ratio = Exp(2 * (logStd1 - logStd2));
        var shift = Square(mean1 - mean2) * Exp(-2 * logStd2);
        return logStd2 - logStd1 + 0.5 * (ratio + shift) - 0.5;
    }

    /// <summary>KL(N(μ, σ²) ‖ N(0, 1)) elementwise: −log σ + (σ² + μ²)/2 − ½ (the VAE prior term).</summary>
    public static Var KlNormal(Var mean, Var logStd) => 0.5 * (Exp(2 * logStd) + Square(mean)) - logStd - 0.5;

    /// <summary>
    /// Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1 − p);
    /// otherwise (or p = 0) x itself. The mask is a constant drawn from rng.
    /// </summary>
    public static Var Dropout(Var x, double p, RandomGenerator rng, bool training = true)
    {
        if (p < 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), $"F.Dropout: p must be in [0, 1), got {p}");
        if (!training || p == 0) return x;
        using var u = Ops.Uniform(x.Shape, rng, 0, 1, x.DType, x.Device);
        using var keep = Ops.Unary(UnaryOp.GreaterEqualScalar, u, p);
        return x * Constant(Ops.Mul(keep, 1.0 / (1 - p)));
    }
}
