namespace DiffTori.Envs.Wrappers;

/// <summary>Per-dimension running mean and (population) variance, updated one vector at a time (Welford).</summary>
public sealed class RunningMeanStd(int dimension)
{
    public long Count { get; private set; }
    public double[] Mean { get; } = new double[dimension];
    readonly double[] _m2 = new double[dimension];

    /// <summary>Population variance; 1 before any sample so an untrained normalizer is the identity.</summary>
    public double Variance(int i) => Count == 0 ? 1.0 : _m2[i] / Count;

    public void Update(ReadOnlySpan<double> x)
    {
        if (x.Length != Mean.Length)
            throw new ArgumentException($"RunningMeanStd.Update: vector of length {x.Length}, expected {Mean.Length}.");
        Count++;
        for (int i = 0; i < x.Length; i++)
        {
            double delta = x[i] - Mean[i];
            Mean[i] += delta / Count;
            _m2[i] += delta * (x[i] - Mean[i]);
        }
    }

    /// <summary>Replaces the statistics (to restore a saved normalizer).</summary>
    public void Set(long count, ReadOnlySpan<double> mean, ReadOnlySpan<double> variance)
    {
        if (mean.Length != Mean.Length || variance.Length != Mean.Length)
            throw new ArgumentException($"RunningMeanStd.Set: expected vectors of length {Mean.Length}.");
        Count = count;
        mean.CopyTo(Mean);
        for (int i = 0; i < variance.Length; i++) _m2[i] = variance[i] * count;
    }
}
