using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>Ready-made gradient hooks for <see cref="Var.RegisterHook"/>: scale, clip by value, clip by norm.</summary>
public static class GradHooks
{
    /// <summary>Multiply the gradient by factor (e.g. 1/ensemble size, or −1 for gradient reversal).</summary>
    public static Func<Var, Var> Scale(double factor) => g => g * factor;

    /// <summary>Clamp every gradient element to [−limit, limit].</summary>
    public static Func<Var, Var> ClipValue(double limit)
    {
        if (!(limit > 0)) throw new ArgumentOutOfRangeException(nameof(limit), $"GradHooks.ClipValue: limit must be positive, got {limit}");
        return g => F.Clamp(g, -limit, limit);
    }

    /// <summary>Rescale the gradient so that its L2 norm is at most maxNorm.</summary>
    public static Func<Var, Var> ClipNorm(double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), $"GradHooks.ClipNorm: maxNorm must be positive, got {maxNorm}");
        return g =>
        {
            double norm = Math.Sqrt(SumOfSquares(g.Value));
            return norm > maxNorm ? g * (maxNorm / (norm + 1e-12)) : g;
        };
    }

    private static double SumOfSquares(Tensor t)
    {
        using var sq = Ops.Square(t);
        using var s = Ops.Sum(sq);
        return s.Item();
    }
}

public static class VarHookExtensions
{
    /// <summary>Scale this Var's gradient by factor whenever it is computed.</summary>
    public static IDisposable ScaleGrad(this Var v, double factor) => v.RegisterHook(GradHooks.Scale(factor));

    /// <summary>Clamp this Var's gradient to [−limit, limit] whenever it is computed.</summary>
    public static IDisposable ClipGradValue(this Var v, double limit) => v.RegisterHook(GradHooks.ClipValue(limit));

    /// <summary>Rescale this Var's gradient to L2 norm at most maxNorm whenever it is computed.</summary>
    public static IDisposable ClipGradNorm(this Var v, double maxNorm) => v.RegisterHook(GradHooks.ClipNorm(maxNorm));
}
