using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// The elementwise formulas, written once with generic math so ILGPU compiles them for float and
/// double. NaN propagates through max/min/clamp/relu as in PyTorch (comparisons, not Math.Max,
/// whose GPU instruction drops NaN).
/// </summary>
internal static class GpuMath
{
    public static T Unary<T>(UnaryOp op, T x, T p0, T p1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T one = T.One, zero = T.Zero;
        switch (op)
        {
            case UnaryOp.Neg: return -x;
            case UnaryOp.Exp: return T.Exp(x);
            case UnaryOp.Log: return T.Log(x);
            case UnaryOp.Sqrt: return T.Sqrt(x);
            case UnaryOp.Rsqrt: return one / T.Sqrt(x);
            case UnaryOp.Tanh: return T.Tanh(x);
            case UnaryOp.Sigmoid: return Sigmoid(x);
            case UnaryOp.Relu: return x < zero ? zero : x;
            case UnaryOp.Elu: return x > zero ? x : p0 * (T.Exp(x) - one);
            case UnaryOp.Silu: return x * Sigmoid(x);
            case UnaryOp.Mish: return x * T.Tanh(Softplus(x));
            case UnaryOp.Softplus:
            {
                T bx = p0 * x;
                return bx > p1 ? x : Softplus(bx) / p0;
            }
            case UnaryOp.Abs: return T.Abs(x);
            case UnaryOp.Sign: return x > zero ? one : x < zero ? -one : zero; // NaN → 0, as torch.sign
            case UnaryOp.Sin: return T.Sin(x);
            case UnaryOp.Cos: return T.Cos(x);
            case UnaryOp.Square: return x * x;
            case UnaryOp.Reciprocal: return one / x;
            case UnaryOp.Clamp: return x < p0 ? p0 : x > p1 ? p1 : x;
            case UnaryOp.PowScalar: return Pow(x, p0);
            case UnaryOp.Affine: return p0 * x + p1;
            case UnaryOp.DivScalarBy: return p0 / x;
            case UnaryOp.GreaterScalar: return x > p0 ? one : zero;
            case UnaryOp.GreaterEqualScalar: return x >= p0 ? one : zero;
            case UnaryOp.LessScalar: return x < p0 ? one : zero;
            case UnaryOp.LessEqualScalar: return x <= p0 ? one : zero;
            case UnaryOp.EqualScalar: return x == p0 ? one : zero;
            case UnaryOp.MaxScalar: return x < p0 ? p0 : x;
            case UnaryOp.MinScalar: return x > p0 ? p0 : x;
            default: return T.IsFinite(x) ? zero : one; // IsNonFinite
        }
    }

    public static T Binary<T>(BinaryOp op, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T one = T.One, zero = T.Zero;
        switch (op)
        {
            case BinaryOp.Add: return a + b;
            case BinaryOp.Sub: return a - b;
            case BinaryOp.Mul: return a * b;
            case BinaryOp.Div: return a / b;
            case BinaryOp.Max: return T.IsNaN(a) ? a : a > b ? a : b;
            case BinaryOp.Min: return T.IsNaN(a) ? a : a < b ? a : b;
            case BinaryOp.Pow: return Pow(a, b);
            case BinaryOp.Equal: return a == b ? one : zero;
            case BinaryOp.NotEqual: return a != b ? one : zero;
            case BinaryOp.Greater: return a > b ? one : zero;
            case BinaryOp.GreaterEqual: return a >= b ? one : zero;
            case BinaryOp.Less: return a < b ? one : zero;
            default: return a <= b ? one : zero; // LessEqual
        }
    }

    /// <summary>1/(1 + e^−x) without overflow for large |x|.</summary>
    public static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        T e = T.Exp(x);
        return e / (T.One + e);
    }

    /// <summary>log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|), finite for every finite x.</summary>
    public static T Softplus<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> =>
        (x > T.Zero ? x : T.Zero) + T.Log(T.One + T.Exp(-T.Abs(x)));

    /// <summary>xʸ like C's pow: a negative base works with an integral exponent (GPU pow is exp2(y·log2 x)).</summary>
    public static T Pow<T>(T x, T y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y == T.Zero) return T.One;
        if (x < T.Zero)
        {
            if (T.Floor(y) != y) return T.NaN;
            T magnitude = T.Pow(-x, y);
            T half = y / (T.One + T.One);
            return T.Floor(half) == half ? magnitude : -magnitude;
        }
        return T.Pow(x, y);
    }
}
