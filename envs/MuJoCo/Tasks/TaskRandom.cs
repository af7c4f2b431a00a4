namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>The episode's random draws (uniform, standard normal), a pure function of the reset seed.</summary>
public sealed class TaskRandom
{
    private readonly Random _random;
    private double _spareNormal;
    private bool _hasSpare;

    public TaskRandom(int seed) => _random = new Random(seed);

    public double Uniform(double low, double high) => low + (high - low) * _random.NextDouble();

    /// <summary>Standard normal by the Box–Muller transform (two draws per pair).</summary>
    public double Normal()
    {
        if (_hasSpare) { _hasSpare = false; return _spareNormal; }
        double u1 = 1.0 - _random.NextDouble(); // (0, 1]: log stays finite
        double u2 = _random.NextDouble();
        double r = Math.Sqrt(-2 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        _hasSpare = true;
        return r * Math.Cos(2 * Math.PI * u2);
    }
}
