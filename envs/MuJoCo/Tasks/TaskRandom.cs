using DiffTori.Engine;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// The episode's random draws, a pure function of the reset seed. Built on the engine's counter-based
/// generator seeded exactly as the managed DeepMind Control tasks seed theirs, so a managed task and its
/// MuJoCo twin that draw in the same order start from the same state for the same seed.
/// </summary>
public sealed class TaskRandom(int seed)
{
    private readonly RandomGenerator _random = new(unchecked((ulong)seed));

    public double Uniform(double low, double high) => low + (high - low) * _random.NextDouble();

    public double Normal() => _random.NextNormal();
}
