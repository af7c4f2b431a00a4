namespace DiffTori.Envs.Tests;

/// <summary>A transparent test env: observation = (seed, step, last action), reward = step number, ends after <c>length</c> steps.</summary>
public sealed class CountingEnv(int length = 10, bool terminates = false) : IEnv
{
    readonly double[] _obs = new double[3];
    int _step;
    public int Resets { get; private set; }
    public string Name => "counting";
    public BoxSpace ObservationSpace { get; } = BoxSpace.Unbounded(3);
    public BoxSpace ActionSpace { get; } = BoxSpace.Symmetric(1);
    public int MaxEpisodeSteps => length;

    public double[] Reset(int seed)
    {
        Resets++;
        _step = 0;
        _obs[0] = seed; _obs[1] = 0; _obs[2] = 0;
        return _obs;
    }

    public StepResult Step(ReadOnlySpan<double> action)
    {
        ActionCheck.Validate(Name, action, 1);
        _step++;
        _obs[1] = _step; _obs[2] = action[0];
        bool end = _step >= length;
        return new StepResult(_obs, _step, end && terminates, end && !terminates);
    }

    public void Dispose() { }
}
