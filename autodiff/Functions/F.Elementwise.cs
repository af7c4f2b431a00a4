using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// The differentiable functions. Each primitive is one line or a few: the engine call that computes
/// the forward value, then the backward rule (in the style of PyTorch's derivatives.yaml), written
/// with these same functions so that gradients can be differentiated again.
/// Composites (F.Composite.cs) are built from primitives and need no rule of their own.
/// </summary>
public static partial class F
{
    // ---------------- unary primitives: forward | d/dx ----------------

    public static Var Neg(Var x) => Record.Op("neg", Ops.Neg(x.Value), x, static (n, g) => Neg(g));

    public static Var Exp(Var x) => Record.Op("exp", Ops.Exp(x.Value), x, static (n, g) => g * n.Out);

    public static Var Log(Var x) => Record.Op("log", Ops.Log(x.Value), x, static (n, g) => g / n.A);

    public static Var Sqrt(Var x) => Record.Op("sqrt", Ops.Sqrt(x.Value), x, static (n, g) => g * 0.5 / n.Out);

    /// <summary>1/√x; d/dx = −½·x^(−3/2) = −½·y³.</summary>
    public static Var Rsqrt(Var x) => Record.Op("rsqrt", Ops.Rsqrt(x.Value), x, static (n, g) => g * -0.5 * Cube(n.Out));

    public static Var Tanh(Var x) => Record.Op("tanh", Ops.Tanh(x.Value), x, static (n, g) => g * (1 - Square(n.Out)));

    public static Var Sin(Var x) => Record.Op("sin", Ops.Sin(x.Value), x, static (n, g) => g * Cos(n.A));

    public static Var Cos(Var x) => Record.Op("cos", Ops.Cos(x.Value), x, static (n, g) => -(g * Sin(n.A)));

    public static Var Square(Var x) => Record.Op("square", Ops.Square(x.Value), x, static (n, g) => g * 2 * n.A);

    public static Var Reciprocal(Var x) => Record.Op("reciprocal", Ops.Reciprocal(x.Value), x, static (n, g) => -(g * Square(n.Out)));

    /// <summary>|x|; the derivative at 0 is taken as 0 (as PyTorch).</summary>
    public static Var Abs(Var x) => Record.Op("abs", Ops.Abs(x.Value), x, static (n, g) => g * Constant(Ops.Sign(n.A.Value)));

    /// <summary>x^p for a constant exponent p.</summary>
    public static Var Pow(Var x, double p)
    {
        var y = Record.Op("pow", Ops.Pow(x.Value, p), x, static (n, g) => g * n.P0 * Pow(n.A, n.P0 - 1));
        y.Node?.P0 = p;
        return y;
    }

    /// <summary>scale·x + shift (what x·c, x + c, c − x compile to).</summary>
    public static Var Affine(Var x, double scale, double shift)
    {
        var y = Record.Op("affine", Ops.Affine(x.Value, scale, shift), x, static (n, g) => g * n.P0);
        y.Node?.P0 = scale;
        return y;
    }

    /// <summary>c / x.</summary>
    public static Var DivScalarBy(double c, Var x) =>
        Record.Op("div_scalar_by", Ops.DivScalarBy(c, x.Value), x, static (n, g) => -(g * n.Out / n.A));

    /// <summary>min(max(x, min), max); the gradient flows only where x is inside [min, max].</summary>
    public static Var Clamp(Var x, double min, double max)
    {
        if (min > max) throw new ArgumentException($"F.Clamp: min {min} > max {max}");
        var y = Record.Op("clamp", Ops.Clamp(x.Value, min, max), x, static (n, g) => g * Constant(InsideMask(n.A.Value, n.P0, n.P1)));
        if (y.Node is { } node) { node.P0 = min; node.P1 = max; }
        return y;
    }

    // ---------------- activations with their own (fused) rules ----------------

    public static Var Relu(Var x) => Record.Op("relu", Ops.Relu(x.Value), x, static (n, g) => g * Constant(Ops.Greater(n.A.Value, 0)));

    /// <summary>x for x &gt; 0, α(eˣ − 1) otherwise; d/dx = 1, or y + α (one fused op, <see cref="EluGrad"/>).</summary>
    public static Var Elu(Var x, double alpha = 1.0)
    {
        var y = Record.Op("elu", Ops.Elu(x.Value, alpha), x, static (n, g) => EluGrad(g, n.A, n.Out, n.P0));
        y.Node?.P0 = alpha;
        return y;
    }

    /// <summary>σ(x) = 1/(1+e⁻ˣ); d/dx = y(1 − y). (Composite form: <see cref="SigmoidComposite"/>.)</summary>
    public static Var Sigmoid(Var x) => Record.Op("sigmoid", Ops.Sigmoid(x.Value), x, static (n, g) => g * n.Out * (1 - n.Out));

    /// <summary>x·σ(x); d/dx = σ(x)·(1 + x(1 − σ(x))). (Composite: <see cref="SiluComposite"/>.)</summary>
    public static Var Silu(Var x) => Record.Op("silu", Ops.Silu(x.Value), x, static (n, g) =>
    {
        var s = Sigmoid(n.A);
        return g * s * (1 + n.A * (1 - s));
    });

    /// <summary>x·tanh(softplus(x)); d/dx = tanh(sp) + x·σ(x)·(1 − tanh²(sp)). (Composite: <see cref="MishComposite"/>.)</summary>
    public static Var Mish(Var x) => Record.Op("mish", Ops.Mish(x.Value), x, static (n, g) =>
    {
        var t = Tanh(Softplus(n.A));
        return g * (t + n.A * Sigmoid(n.A) * (1 - Square(t)));
    });

    /// <summary>log(1 + e^(βx))/β (x itself where βx &gt; threshold); d/dx = σ(βx).</summary>
    public static Var Softplus(Var x, double beta = 1.0, double threshold = 20.0)
    {
        var y = Record.Op("softplus", Ops.Softplus(x.Value, beta, threshold), x, static (n, g) => g * Sigmoid(n.A * n.P0));
        y.Node?.P0 = beta;
        return y;
    }

    // ---------------- helpers ----------------

    /// <summary>A constant Var (no gradient) around a tensor; the tensor now belongs to the Var (and to the open <see cref="TensorScope"/>, if any).</summary>
    public static Var Constant(Tensor t) => new(t, null);

    /// <summary>A scalar constant of x's dtype and device.</summary>
    public static Var Scalar(double value, Var like) => new(Tensor.Scalar(value, like.DType, like.Device), null);

    private static Var Cube(Var x) => x * Square(x);

    /// <summary>1 where min ≤ x ≤ max, else 0.</summary>
    private static Tensor InsideMask(Tensor x, double min, double max)
    {
        using var above = Ops.Unary(UnaryOp.GreaterEqualScalar, x, min);
        using var below = Ops.Unary(UnaryOp.LessEqualScalar, x, max);
        return Ops.Mul(above, below);
    }
}
