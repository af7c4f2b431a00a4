namespace DiffTori.Envs;

/// <summary>A bounded box of real vectors: the shape of observations and actions.</summary>
public sealed record BoxSpace(double[] Low, double[] High)
{
    public int Dimension => Low.Length;

    /// <summary>[-1, 1]^n: the action space every task exposes to agents.</summary>
    public static BoxSpace Symmetric(int n, double bound = 1.0) =>
        new(Enumerable.Repeat(-bound, n).ToArray(), Enumerable.Repeat(bound, n).ToArray());

    /// <summary>(-∞, ∞)^n: typical observation space.</summary>
    public static BoxSpace Unbounded(int n) =>
        new(Enumerable.Repeat(double.NegativeInfinity, n).ToArray(), Enumerable.Repeat(double.PositiveInfinity, n).ToArray());
}
