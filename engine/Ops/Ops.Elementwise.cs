namespace DiffTori.Engine;

// PLACEHOLDER signatures: replaced by the helper that owns this file. The signatures are the contract.
public static partial class Ops
{
    // Unary (y = f(x)); each has a 'result' overload writing into a caller-owned contiguous tensor.
    public static Tensor Unary(UnaryOp op, Tensor x, double p0 = 0, double p1 = 0) => throw new NotImplementedException();
    public static void Unary(UnaryOp op, Tensor x, Tensor result, double p0 = 0, double p1 = 0) => throw new NotImplementedException();
    public static Tensor Neg(Tensor x) => throw new NotImplementedException();
    public static Tensor Exp(Tensor x) => throw new NotImplementedException();
    public static Tensor Log(Tensor x) => throw new NotImplementedException();
    public static Tensor Sqrt(Tensor x) => throw new NotImplementedException();
    public static Tensor Rsqrt(Tensor x) => throw new NotImplementedException();
    public static Tensor Tanh(Tensor x) => throw new NotImplementedException();
    public static Tensor Sigmoid(Tensor x) => throw new NotImplementedException();
    public static Tensor Relu(Tensor x) => throw new NotImplementedException();
    public static Tensor Elu(Tensor x, double alpha = 1.0) => throw new NotImplementedException();
    public static Tensor Silu(Tensor x) => throw new NotImplementedException();
    public static Tensor Mish(Tensor x) => throw new NotImplementedException();
    public static Tensor Softplus(Tensor x, double beta = 1.0, double threshold = 20.0) => throw new NotImplementedException();
    public static Tensor Abs(Tensor x) => throw new NotImplementedException();
    public static Tensor Sign(Tensor x) => throw new NotImplementedException();
    public static Tensor Sin(Tensor x) => throw new NotImplementedException();
    public static Tensor Cos(Tensor x) => throw new NotImplementedException();
    public static Tensor Square(Tensor x) => throw new NotImplementedException();
    public static Tensor Reciprocal(Tensor x) => throw new NotImplementedException();
    public static Tensor Clamp(Tensor x, double min, double max) => throw new NotImplementedException();
    public static Tensor Pow(Tensor x, double exponent) => throw new NotImplementedException();
    /// <summary>scale·x + shift.</summary>
    public static Tensor Affine(Tensor x, double scale, double shift) => throw new NotImplementedException();
    public static Tensor Add(Tensor x, double c) => throw new NotImplementedException();
    public static Tensor Mul(Tensor x, double c) => throw new NotImplementedException();
    /// <summary>c / x.</summary>
    public static Tensor DivScalarBy(double c, Tensor x) => throw new NotImplementedException();
    // Binary with broadcasting; each has a 'result' overload.
    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b) => throw new NotImplementedException();
    public static void Binary(BinaryOp op, Tensor a, Tensor b, Tensor result) => throw new NotImplementedException();
    public static Tensor Add(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Sub(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Mul(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Div(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Maximum(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Minimum(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Pow(Tensor a, Tensor b) => throw new NotImplementedException();
    // Comparisons: 1 or 0 in the operands' dtype.
    public static Tensor Equal(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor NotEqual(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Greater(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor GreaterEqual(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Less(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor LessEqual(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Greater(Tensor x, double c) => throw new NotImplementedException();
    public static Tensor Less(Tensor x, double c) => throw new NotImplementedException();
    /// <summary>condition ≠ 0 ? a : b, all three broadcast.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => throw new NotImplementedException();
    /// <summary>In-place accumulate: target += source (source broadcast to target's shape). Used by optimizers and gradient sums.</summary>
    public static void AddInPlace(Tensor target, Tensor source, double scale = 1.0) => throw new NotImplementedException();
}
