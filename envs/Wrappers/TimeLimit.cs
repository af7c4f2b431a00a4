namespace DiffTori.Envs.Wrappers;

/// <summary>Truncates the episode after <see cref="Limit"/> steps (of this wrapper), unless it ended before.</summary>
public sealed class TimeLimit : EnvWrapper
{
    int _steps;

    public TimeLimit(IEnv inner, int limit) : base(inner)
    {
        if (limit < 1) throw new ArgumentException($"TimeLimit({inner.Name}): limit must be >= 1, got {limit}.");
        Limit = limit;
    }

    public int Limit { get; }
    public override int MaxEpisodeSteps => Math.Min(Limit, Inner.MaxEpisodeSteps);

    public override double[] Reset(int seed)
    {
        _steps = 0;
        return Inner.Reset(seed);
    }

    public override StepResult Step(ReadOnlySpan<double> action)
    {
        var result = Inner.Step(action);
        _steps++;
        return _steps >= Limit ? result with { Truncated = true } : result;
    }
}
