using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// Composite forms of ops that also have a fused rule. They have no rule of their own: their gradient
/// comes from the primitives (tinygrad style). Tests check that both forms agree in value, gradient and
/// second derivative; the fused forms are the defaults because they run fewer kernels and save less.
/// </summary>
public static partial class F
{
    public static Var SigmoidComposite(Var x) => 1.0 / (1.0 + Exp(-x));

    public static Var SiluComposite(Var x) => x * Sigmoid(x);

    public static Var MishComposite(Var x) => x * Tanh(Softplus(x));

    public static Var SoftmaxComposite(Var x, int axis = -1)
    {
        Var shifted;
        using (Autograd.NoGrad()) shifted = Max(x, [axis], keepDims: true); // a constant shift leaves softmax unchanged
        var e = Exp(x - shifted.Detach());
        return e / Sum(e, axis, keepDims: true);
    }

    public static Var LogSoftmaxComposite(Var x, int axis = -1) => x - LogSumExp(x, axis, keepDims: true);

    public static Var LayerNormComposite(Var x, Var? weight, Var? bias, double eps = 1e-5, int normalizedAxes = 0)
    {
        int k = NormalizedAxes(x, weight, normalizedAxes);
        var axes = LastAxes(x.Rank, k);
        var centered = x - Mean(x, axes, keepDims: true);
        var variance = Mean(Square(centered), axes, keepDims: true);
        var y = centered * Rsqrt(variance + eps);
        if (weight is not null) y *= weight;
        if (bias is not null) y += bias;
        return y;
    }

    /// <summary>Mean cross-entropy −mean log softmax(logits)[target] as a composite (gather of log-softmax).</summary>
    public static Var CrossEntropyComposite(Var logits, Tensor targets)
    {
        CheckCrossEntropy(logits, targets);
        using var column = targets.Reshape(targets.Length, 1);
        var picked = Gather(LogSoftmax(logits, -1), 1, column.Contiguous());
        return -Mean(picked);
    }

    private static int[] LastAxes(int rank, int count)
    {
        var axes = new int[count];
        for (int i = 0; i < count; i++) axes[i] = rank - count + i;
        return axes;
    }
}
