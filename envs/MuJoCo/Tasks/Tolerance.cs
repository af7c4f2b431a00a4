namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>Sigmoid shapes of dm_control's rewards.tolerance.</summary>
public enum Sigmoid { Gaussian, Hyperbolic, LongTail, Reciprocal, Cosine, Linear, Quadratic, TanhSquared }

/// <summary>
/// dm_control's rewards.tolerance: 1 inside [lower, upper], falling off outside with the given sigmoid so that
/// it equals valueAtMargin at distance `margin` from the bounds (margin 0: an indicator).
/// </summary>
public static class Tolerance
{
    public static double Of(double x, double lower = 0, double upper = 0, double margin = 0,
                            Sigmoid sigmoid = Sigmoid.Gaussian, double valueAtMargin = 0.1)
    {
        if (lower > upper) throw new ArgumentException($"Tolerance.Of: lower bound {lower} > upper bound {upper}");
        if (margin < 0) throw new ArgumentException($"Tolerance.Of: margin must be >= 0, got {margin}");
        bool inBounds = lower <= x && x <= upper;
        if (inBounds) return 1.0;
        if (margin == 0) return 0.0;
        double d = (x < lower ? lower - x : x - upper) / margin;
        return Shape(d, valueAtMargin, sigmoid);
    }

    /// <summary>A sigmoid s with s(0) = 1 and s(1) = valueAt1.</summary>
    public static double Shape(double x, double valueAt1, Sigmoid sigmoid)
    {
        bool openRange = sigmoid is Sigmoid.Cosine or Sigmoid.Linear or Sigmoid.Quadratic;
        if (openRange ? valueAt1 < 0 || valueAt1 >= 1 : valueAt1 <= 0 || valueAt1 >= 1)
            throw new ArgumentException($"Tolerance.Shape: valueAtMargin {valueAt1} out of range for {sigmoid}");
        switch (sigmoid)
        {
            case Sigmoid.Gaussian:
            {
                double scale = Math.Sqrt(-2 * Math.Log(valueAt1));
                return Math.Exp(-0.5 * (x * scale) * (x * scale));
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
                return Math.Abs(s) < 1 ? (1 + Math.Cos(Math.PI * s)) / 2 : 0;
            }
            case Sigmoid.Linear:
            {
                double s = x * (1 - valueAt1);
                return Math.Abs(s) < 1 ? 1 - s : 0;
            }
            case Sigmoid.Quadratic:
            {
                double s = x * Math.Sqrt(1 - valueAt1);
                return Math.Abs(s) < 1 ? 1 - s * s : 0;
            }
            case Sigmoid.TanhSquared:
            {
                double t = Math.Tanh(x * Math.Atanh(Math.Sqrt(1 - valueAt1)));
                return 1 - t * t;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(sigmoid), sigmoid, "Tolerance.Shape: unknown sigmoid");
        }
    }
}
