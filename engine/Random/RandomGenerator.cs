namespace DiffTori.Engine;

/// <summary>
/// A seed plus a running counter. Each draw of n numbers uses counters [Counter, Counter + n) and then
/// advances, so a seed fixes every draw, on any device, regardless of how draws are batched across devices.
/// </summary>
public sealed class RandomGenerator(ulong seed)
{
    public ulong Seed { get; } = seed;

    /// <summary>Next unused counter; save and restore it to resume a run exactly.</summary>
    public ulong Counter { get; set; }

    /// <summary>Reserve n counters and return the first.</summary>
    public ulong Take(int n)
    {
        ulong first = Counter;
        Counter += (ulong)n;
        return first;
    }

    /// <summary>A generator for an independent stream (for example one per environment copy).</summary>
    public RandomGenerator Fork(ulong stream)
    {
        var b = Philox.Block(Seed, 0xF0F0_0000_0000_0000UL ^ stream);
        return new RandomGenerator(((ulong)b.X1 << 32) | b.X0);
    }

    /// <summary>One uniform double in [0, 1) on the host.</summary>
    public double NextDouble() => Philox.Uniform01(Seed, Take(1));

    /// <summary>One standard normal on the host.</summary>
    public double NextNormal() => Philox.Normal(Seed, Take(1));

    /// <summary>One integer in [low, high) on the host.</summary>
    public int NextInt(int low, int high) => Philox.Integer(Seed, Take(1), low, high);
}
