namespace DiffTori.Envs.Wrappers;

/// <summary>
/// Observation = the last <see cref="Frames"/> observations concatenated, oldest first; after a reset all
/// slots hold the first observation.
/// </summary>
public sealed class FrameStack : EnvWrapper
{
    readonly double[] _stacked;
    readonly int _single;

    public FrameStack(IEnv inner, int frames) : base(inner)
    {
        if (frames < 1) throw new ArgumentException($"FrameStack({inner.Name}): frames must be >= 1, got {frames}.");
        Frames = frames;
        _single = inner.ObservationSpace.Dimension;
        _stacked = new double[_single * frames];
        var low = new double[_stacked.Length];
        var high = new double[_stacked.Length];
        for (int f = 0; f < frames; f++)
        {
            inner.ObservationSpace.Low.CopyTo(low, f * _single);
            inner.ObservationSpace.High.CopyTo(high, f * _single);
        }
        ObservationSpace = new BoxSpace(low, high);
    }

    public int Frames { get; }
    public override BoxSpace ObservationSpace { get; }

    public override double[] Reset(int seed)
    {
        var first = Inner.Reset(seed);
        for (int f = 0; f < Frames; f++) first.AsSpan(0, _single).CopyTo(_stacked.AsSpan(f * _single));
        return _stacked;
    }

    public override StepResult Step(ReadOnlySpan<double> action)
    {
        var result = Inner.Step(action);
        // Shift left by one frame, then append the newest.
        _stacked.AsSpan(_single).CopyTo(_stacked);
        result.Observation.AsSpan(0, _single).CopyTo(_stacked.AsSpan((Frames - 1) * _single));
        return result with { Observation = _stacked };
    }
}
