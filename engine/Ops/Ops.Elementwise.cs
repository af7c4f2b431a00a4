namespace DiffTori.Engine;

/// <summary>Elementwise ops: unary functions, broadcast binary arithmetic and comparisons, where, in-place accumulate.</summary>
public static partial class Ops
{
    // Op names for error messages and NumericCheck, built once so no call allocates a string.
    private static readonly string[] UnaryNames = Enum.GetNames<UnaryOp>().Select(n => n.ToLowerInvariant()).ToArray();
    private static readonly string[] BinaryNames = Enum.GetNames<BinaryOp>().Select(n => n.ToLowerInvariant()).ToArray();

    internal static string NameOf(UnaryOp op) => UnaryNames[(int)op];
    internal static string NameOf(BinaryOp op) => BinaryNames[(int)op];

    // ----- unary -----

    public static Tensor Unary(UnaryOp op, Tensor x, double p0 = 0, double p1 = 0)
    {
        string name = NameOf(op);
        Require.Float(name, x);
        var result = NewLike(x, x.Shape);
        x.Device.Backend.Unary(op, x, result, p0, p1);
        NumericCheck.After(name, result);
        return result;
    }

    public static void Unary(UnaryOp op, Tensor x, Tensor result, double p0 = 0, double p1 = 0)
    {
        string name = NameOf(op);
        Require.Float(name, x);
        Require.Destination(name, result, x.Shape, x.DType, x.Device);
        x.Device.Backend.Unary(op, x, result, p0, p1);
        NumericCheck.After(name, result);
    }

    public static Tensor Neg(Tensor x) => Unary(UnaryOp.Neg, x);
    public static Tensor Exp(Tensor x) => Unary(UnaryOp.Exp, x);
    public static Tensor Log(Tensor x) => Unary(UnaryOp.Log, x);
    public static Tensor Sqrt(Tensor x) => Unary(UnaryOp.Sqrt, x);
    public static Tensor Rsqrt(Tensor x) => Unary(UnaryOp.Rsqrt, x);
    public static Tensor Tanh(Tensor x) => Unary(UnaryOp.Tanh, x);
    public static Tensor Sigmoid(Tensor x) => Unary(UnaryOp.Sigmoid, x);
    public static Tensor Relu(Tensor x) => Unary(UnaryOp.Relu, x);
    public static Tensor Elu(Tensor x, double alpha = 1.0) => Unary(UnaryOp.Elu, x, alpha);
    public static Tensor Silu(Tensor x) => Unary(UnaryOp.Silu, x);
    public static Tensor Mish(Tensor x) => Unary(UnaryOp.Mish, x);
    public static Tensor Softplus(Tensor x, double beta = 1.0, double threshold = 20.0)
    {
        if (beta == 0) throw new ArgumentOutOfRangeException(nameof(beta), $"softplus: beta must be non-zero (input {x.Shape})");
        return Unary(UnaryOp.Softplus, x, beta, threshold);
    }
    public static Tensor Abs(Tensor x) => Unary(UnaryOp.Abs, x);
    public static Tensor Sign(Tensor x) => Unary(UnaryOp.Sign, x);
    public static Tensor Sin(Tensor x) => Unary(UnaryOp.Sin, x);
    public static Tensor Cos(Tensor x) => Unary(UnaryOp.Cos, x);
    public static Tensor Square(Tensor x) => Unary(UnaryOp.Square, x);
    public static Tensor Reciprocal(Tensor x) => Unary(UnaryOp.Reciprocal, x);
    public static Tensor Clamp(Tensor x, double min, double max)
    {
        if (min > max) throw new ArgumentOutOfRangeException(nameof(min), $"clamp: min {min} is greater than max {max} (input {x.Shape})");
        return Unary(UnaryOp.Clamp, x, min, max);
    }
    public static Tensor Pow(Tensor x, double exponent) => Unary(UnaryOp.PowScalar, x, exponent);
    /// <summary>scale·x + shift.</summary>
    public static Tensor Affine(Tensor x, double scale, double shift) => Unary(UnaryOp.Affine, x, scale, shift);
    public static Tensor Add(Tensor x, double c) => Unary(UnaryOp.Affine, x, 1, c);
    public static Tensor Mul(Tensor x, double c) => Unary(UnaryOp.Affine, x, c, 0);
    /// <summary>c / x.</summary>
    public static Tensor DivScalarBy(double c, Tensor x) => Unary(UnaryOp.DivScalarBy, x, c);

    // 'result' overloads of the named unary ops, for allocation-free hot loops.
    public static void Neg(Tensor x, Tensor result) => Unary(UnaryOp.Neg, x, result);
    public static void Exp(Tensor x, Tensor result) => Unary(UnaryOp.Exp, x, result);
    public static void Log(Tensor x, Tensor result) => Unary(UnaryOp.Log, x, result);
    public static void Sqrt(Tensor x, Tensor result) => Unary(UnaryOp.Sqrt, x, result);
    public static void Tanh(Tensor x, Tensor result) => Unary(UnaryOp.Tanh, x, result);
    public static void Sigmoid(Tensor x, Tensor result) => Unary(UnaryOp.Sigmoid, x, result);
    public static void Relu(Tensor x, Tensor result) => Unary(UnaryOp.Relu, x, result);
    public static void Silu(Tensor x, Tensor result) => Unary(UnaryOp.Silu, x, result);
    public static void Square(Tensor x, Tensor result) => Unary(UnaryOp.Square, x, result);
    public static void Affine(Tensor x, double scale, double shift, Tensor result) => Unary(UnaryOp.Affine, x, result, scale, shift);

    // ----- binary -----

    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        string name = NameOf(op);
        CheckOperands(name, a, b);
        var result = NewLike(a, Broadcast.Shapes(name, a.Shape, b.Shape));
        a.Device.Backend.Binary(op, a, b, result);
        NumericCheck.After(name, result);
        return result;
    }

    public static void Binary(BinaryOp op, Tensor a, Tensor b, Tensor result)
    {
        string name = NameOf(op);
        CheckOperands(name, a, b);
        Require.Destination(name, result, Broadcast.Shapes(name, a.Shape, b.Shape), a.DType, a.Device);
        a.Device.Backend.Binary(op, a, b, result);
        NumericCheck.After(name, result);
    }

    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);
    public static Tensor Maximum(Tensor a, Tensor b) => Binary(BinaryOp.Max, a, b);
    public static Tensor Minimum(Tensor a, Tensor b) => Binary(BinaryOp.Min, a, b);
    public static Tensor Pow(Tensor a, Tensor b) => Binary(BinaryOp.Pow, a, b);

    public static void Add(Tensor a, Tensor b, Tensor result) => Binary(BinaryOp.Add, a, b, result);
    public static void Sub(Tensor a, Tensor b, Tensor result) => Binary(BinaryOp.Sub, a, b, result);
    public static void Mul(Tensor a, Tensor b, Tensor result) => Binary(BinaryOp.Mul, a, b, result);
    public static void Div(Tensor a, Tensor b, Tensor result) => Binary(BinaryOp.Div, a, b, result);

    // Comparisons: 1 or 0 in the operands' dtype.
    public static Tensor Equal(Tensor a, Tensor b) => Binary(BinaryOp.Equal, a, b);
    public static Tensor NotEqual(Tensor a, Tensor b) => Binary(BinaryOp.NotEqual, a, b);
    public static Tensor Greater(Tensor a, Tensor b) => Binary(BinaryOp.Greater, a, b);
    public static Tensor GreaterEqual(Tensor a, Tensor b) => Binary(BinaryOp.GreaterEqual, a, b);
    public static Tensor Less(Tensor a, Tensor b) => Binary(BinaryOp.Less, a, b);
    public static Tensor LessEqual(Tensor a, Tensor b) => Binary(BinaryOp.LessEqual, a, b);
    public static Tensor Greater(Tensor x, double c) => Unary(UnaryOp.GreaterScalar, x, c);
    public static Tensor Less(Tensor x, double c) => Unary(UnaryOp.LessScalar, x, c);

    /// <summary>condition ≠ 0 ? a : b, all three broadcast.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        const string name = "where";
        CheckOperands(name, a, b);
        Require.SameDevice(name, condition, a);
        var shape = Broadcast.Shapes(name, condition.Shape, a.Shape, b.Shape);
        var result = NewLike(a, shape);
        if (condition.DType == a.DType)
            a.Device.Backend.Where(condition, a, b, result);
        else
        {
            // An int32 (or other-precision) mask: compare in the operands' dtype.
            using var mask = condition.Cast(a.DType);
            a.Device.Backend.Where(mask, a, b, result);
        }
        NumericCheck.After(name, result);
        return result;
    }

    /// <summary>In-place accumulate: target += scale·source (source broadcast to target's shape). Used by optimizers and gradient sums.</summary>
    public static void AddInPlace(Tensor target, Tensor source, double scale = 1.0)
    {
        const string name = "add_";
        CheckOperands(name, target, source);
        var shape = Broadcast.Shapes(name, target.Shape, source.Shape);
        if (shape != target.Shape)
            throw new TensorShapeException($"{name}: source {source.Shape} does not broadcast to the target's shape {target.Shape}");
        if (!target.IsContiguous)
            throw new ArgumentException($"{name}: target must be contiguous (shape {target.Shape}, strides {target.Strides})");
        if (target.Device.Backend is CpuBackend)
            CpuBackend.AddScaled(target, source, scale);
        else if (scale == 1)
            target.Device.Backend.Binary(BinaryOp.Add, target, source, target);
        else
        {
            using var scaled = NewLike(source, source.Shape);
            source.Device.Backend.Unary(UnaryOp.Affine, source, scaled, scale, 0);
            target.Device.Backend.Binary(BinaryOp.Add, target, scaled, target);
        }
        NumericCheck.After(name, target);
    }

    /// <summary>Both float, same dtype, same device.</summary>
    private static void CheckOperands(string op, Tensor a, Tensor b)
    {
        Require.Float(op, a);
        Require.Float(op, b);
        Require.SameDType(op, a, b);
        Require.SameDevice(op, a, b);
    }
}
