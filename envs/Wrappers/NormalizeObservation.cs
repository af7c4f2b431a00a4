namespace DiffTori.Envs.Wrappers;

/// <summary>
/// Returns (obs − mean) / sqrt(var + ε), clipped to ±<see cref="Clip"/>, with running statistics that include
/// the current observation; set <see cref="Frozen"/> to stop updating (e.g. for evaluation).
/// </summary>
public sealed class NormalizeObservation : EnvWrapper
{
    readonly double[] _normalized;

    public NormalizeObservation(IEnv inner, double clip = 10.0, double epsilon = 1e-8) : base(inner)
    {
        if (!(clip > 0)) throw new ArgumentException($"NormalizeObservation({inner.Name}): clip must be > 0, got {clip}.");
        Clip = clip;
        Epsilon = epsilon;
        Statistics = new RunningMeanStd(inner.ObservationSpace.Dimension);
        _normalized = new double[inner.ObservationSpace.Dimension];
        ObservationSpace = BoxSpace.Symmetric(_normalized.Length, clip);
    }

    public double Clip { get; }
    public double Epsilon { get; }
    public bool Frozen { get; set; }
    public RunningMeanStd Statistics { get; }
    public override BoxSpace ObservationSpace { get; }

    public override double[] Reset(int seed) => Normalize(Inner.Reset(seed));

    public override StepResult Step(ReadOnlySpan<double> action)
    {
        var result = Inner.Step(action);
        return result with { Observation = Normalize(result.Observation) };
    }

    double[] Normalize(double[] observation)
    {
        if (!Frozen) Statistics.Update(observation);
        for (int i = 0; i < _normalized.Length; i++)
        {
            double z = (observation[i] - Statistics.Mean[i]) / Math.Sqrt(Statistics.Variance(i) + Epsilon);
            _normalized[i] = Math.Clamp(z, -Clip, Clip);
        }
        return _normalized;
    }
}
