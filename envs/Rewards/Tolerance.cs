namespace DiffTori.Envs;

/// <summary>Shapes of the soft fall-off used by <see cref="Tolerance"/> outside the bounds.</summary>
public enum Sigmoid { Gaussian, Hyperbolic, LongTail, Reciprocal, Cosine, Linear, Quadratic, TanhSquared }

/// <summary>
/// DeepMind Control's soft indicator: 1 inside [lower, upper], falling to <c>valueAtMargin</c> at distance
/// <c>margin</c> from the nearest bound, with the chosen sigmoid. margin = 0 gives a hard indicator.
/// Every suite reward is built from this function.
/// </summary>
public static class Tolerance
{
    public const double DefaultValueAtMargin = 0.1;

    public static double Evaluate(double x, double lower = 0.0, double upper = 0.0, double margin = 0.0,
        Sigmoid sigmoid = Sigmoid.Gaussian, double valueAtMargin = DefaultValueAtMargin)
    {
        if (lower > upper)
            throw new ArgumentException($"Tolerance: lower bound {lower} must be <= upper bound {upper}.");
        if (margin < 0)
            throw new ArgumentException($"Tolerance: margin must be non-negative, got {margin}.");
        bool inBounds = lower <= x && x <= upper;
        if (inBounds) return 1.0;
        if (margin == 0) return 0.0;
        double distance = (x < lower ? lower - x : x - upper) / margin;
        return SigmoidValue(distance, valueAtMargin, sigmoid);
    }

    /// <summary>A function of the scaled distance x ≥ 0 that is 1 at x = 0 and <paramref name="valueAt1"/> at x = 1.</summary>
    public static double SigmoidValue(double x, double valueAt1, Sigmoid sigmoid)
    {
        bool allowsZero = sigmoid is Sigmoid.Cosine or Sigmoid.Linear or Sigmoid.Quadratic;
        if (allowsZero ? !(valueAt1 >= 0 && valueAt1 < 1) : !(valueAt1 > 0 && valueAt1 < 1))
            throw new ArgumentException(
                $"Tolerance: value at margin for the {sigmoid} sigmoid must be in {(allowsZero ? "[0, 1)" : "(0, 1)")}, got {valueAt1}.");

        switch (sigmoid)
        {
            case Sigmoid.Gaussian:
            {
                double scale = Math.Sqrt(-2 * Math.Log(valueAt1));
                double s = x * scale;
                return Math.Exp(-0.5 * s * s);
            }
            case Sigmoid.Hyperbolic:
                return 1 / Math.Cosh(x * Math.Acosh(1 / valueAt1));
            case Sigmoid.LongTail:
            {
                double s = x * Math.Sqrt(1 / valueAt1 - 1);
                return 1 / (s * s + 1);
            }
            case Sigmoid.Reciprocal:
                return 1 / (Math.Abs(x) * (1 / valueAt1 - 1) + 1);
            case Sigmoid.Cosine:
            {
                double s = x * Math.Acos(2 * valueAt1 - 1) / Math.PI;
                return Math.Abs(s) < 1 ? (1 + Math.Cos(Math.PI * s)) / 2 : 0.0;
            }
            case Sigmoid.Linear:
            {
                double s = x * (1 - valueAt1);
                return Math.Abs(s) < 1 ? 1 - s : 0.0;
            }
            case Sigmoid.Quadratic:
            {
                double s = x * Math.Sqrt(1 - valueAt1);
                return Math.Abs(s) < 1 ? 1 - s * s : 0.0;
            }
            case Sigmoid.TanhSquared:
            {
                double t = Math.Tanh(x * Math.Atanh(Math.Sqrt(1 - valueAt1)));
                return 1 - t * t;
            }
            default:
                throw new ArgumentException($"Tolerance: unknown sigmoid {sigmoid}.");
        }
    }
}
