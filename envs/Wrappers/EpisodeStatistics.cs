namespace DiffTori.Envs.Wrappers;

/// <summary>Return and length of a finished episode (in this wrapper's steps).</summary>
public readonly record struct EpisodeRecord(double Return, int Length);

/// <summary>Accumulates the running episode's return and length and records every finished episode.</summary>
public sealed class EpisodeStatistics(IEnv inner) : EnvWrapper(inner)
{
    readonly List<EpisodeRecord> _completed = [];

    public double CurrentReturn { get; private set; }
    public int CurrentLength { get; private set; }
    public EpisodeRecord? LastEpisode => _completed.Count > 0 ? _completed[^1] : null;
    public IReadOnlyList<EpisodeRecord> Completed => _completed;

    public override double[] Reset(int seed)
    {
        CurrentReturn = 0;
        CurrentLength = 0;
        return Inner.Reset(seed);
    }

    public override StepResult Step(ReadOnlySpan<double> action)
    {
        var result = Inner.Step(action);
        CurrentReturn += result.Reward;
        CurrentLength++;
        if (result.Done) _completed.Add(new EpisodeRecord(CurrentReturn, CurrentLength));
        return result;
    }
}
