namespace DiffTori.Envs;

/// <summary>What one step returns.</summary>
/// <param name="Observation">The new observation (the env owns the array; copy it to keep it past the next step).</param>
/// <param name="Reward">The step's reward (DeepMind Control tasks: in [0, 1] per step).</param>
/// <param name="Terminated">The task ended by itself (a terminal state).</param>
/// <param name="Truncated">The episode was cut by a time limit.</param>
public readonly record struct StepResult(double[] Observation, double Reward, bool Terminated, bool Truncated)
{
    public bool Done => Terminated || Truncated;
}

/// <summary>
/// An environment. Actions are in [-1, 1]^m (mapped to the actuators' ranges inside), observations are
/// flat double vectors. Reset(seed) makes the episode's randomness a function of the seed alone.
/// </summary>
public interface IEnv : IDisposable
{
    /// <summary>Registry name, e.g. "pendulum-swingup".</summary>
    string Name { get; }
    BoxSpace ObservationSpace { get; }
    BoxSpace ActionSpace { get; }

    /// <summary>Steps per episode before truncation (1000 for DeepMind Control tasks).</summary>
    int MaxEpisodeSteps { get; }

    double[] Reset(int seed);
    StepResult Step(ReadOnlySpan<double> action);
}
