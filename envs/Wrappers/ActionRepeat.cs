namespace DiffTori.Envs.Wrappers;

/// <summary>Applies each action <see cref="Repeat"/> times, summing rewards; stops early when the episode ends.</summary>
public sealed class ActionRepeat : EnvWrapper
{
    public ActionRepeat(IEnv inner, int repeat) : base(inner)
    {
        if (repeat < 1) throw new ArgumentException($"ActionRepeat({inner.Name}): repeat must be >= 1, got {repeat}.");
        Repeat = repeat;
    }

    public int Repeat { get; }

    public override int MaxEpisodeSteps => (Inner.MaxEpisodeSteps + Repeat - 1) / Repeat;

    public override StepResult Step(ReadOnlySpan<double> action)
    {
        double total = 0;
        StepResult last = default;
        for (int i = 0; i < Repeat; i++)
        {
            last = Inner.Step(action);
            total += last.Reward;
            if (last.Done) break;
        }
        return last with { Reward = total };
    }
}
