using DiffTori.Engine;

namespace DiffTori.Envs.Tasks.Gym;

/// <summary>
/// Gymnasium's MountainCarContinuous-v0: v += 0.0015·a − 0.0025·cos(3x), |v| ≤ 0.07, x ∈ [-1.2, 0.6]
/// (v set to 0 at the left wall), terminated when x ≥ 0.45 and v ≥ 0; reward 100 on reaching the goal minus
/// 0.1·a²; start x ~ U(-0.6, -0.4), v = 0; 999 steps. The state is stored as float32, as Gymnasium does.
/// </summary>
public sealed class MountainCarContinuous : IEnv, IPhysicsState
{
    public const double MinPosition = -1.2, MaxPosition = 0.6, MaxSpeed = 0.07, GoalPosition = 0.45, GoalVelocity = 0, Power = 0.0015;
    public const int EpisodeSteps = 999;

    readonly double[] _observation = new double[2];
    float _position, _velocity;
    int _steps;
    bool _needsReset = true;

    public string Name => "MountainCarContinuous-v0";
    public BoxSpace ObservationSpace { get; } = new([MinPosition, -MaxSpeed], [MaxPosition, MaxSpeed]);
    public BoxSpace ActionSpace { get; } = BoxSpace.Symmetric(1);
    public int MaxEpisodeSteps => EpisodeSteps;
    public int PositionDimension => 1;
    public int VelocityDimension => 1;
    public double[] CurrentObservation => _observation;

    public double[] Reset(int seed)
    {
        var random = new RandomGenerator(unchecked((ulong)seed));
        _position = (float)(-0.6 + 0.2 * random.NextDouble());
        _velocity = 0;
        _steps = 0;
        _needsReset = false;
        WriteObservation();
        return _observation;
    }

    public StepResult Step(ReadOnlySpan<double> action)
    {
        if (_needsReset) throw new InvalidOperationException($"{Name}: Step called before Reset or after the episode ended.");
        ActionCheck.Validate(Name, action, 1);
        double force = Math.Clamp(action[0], -1.0, 1.0);
        double position = _position, velocity = _velocity;
        velocity += force * Power - 0.0025 * Math.Cos(3 * position);
        velocity = Math.Clamp(velocity, -MaxSpeed, MaxSpeed);
        position += velocity;
        position = Math.Clamp(position, MinPosition, MaxPosition);
        if (position == MinPosition && velocity < 0) velocity = 0;
        bool terminated = position >= GoalPosition && velocity >= GoalVelocity;
        double reward = (terminated ? 100.0 : 0.0) - action[0] * action[0] * 0.1;
        _position = (float)position;
        _velocity = (float)velocity;
        _steps++;
        WriteObservation();
        bool truncated = _steps >= EpisodeSteps; // Gymnasium's TimeLimit flags truncation even on a terminal step
        if (terminated || truncated) _needsReset = true;
        return new StepResult(_observation, reward, terminated, truncated);
    }

    void WriteObservation()
    {
        _observation[0] = _position;
        _observation[1] = _velocity;
    }

    public void GetState(Span<double> qpos, Span<double> qvel)
    {
        qpos[0] = _position;
        qvel[0] = _velocity;
    }

    public void SetState(ReadOnlySpan<double> qpos, ReadOnlySpan<double> qvel)
    {
        if (qpos.Length != 1 || qvel.Length != 1)
            throw new ArgumentException($"{Name}: SetState expects qpos[1] and qvel[1], got qpos[{qpos.Length}] and qvel[{qvel.Length}].");
        _position = (float)qpos[0];
        _velocity = (float)qvel[0];
        if (_steps < EpisodeSteps) _needsReset = false;
        WriteObservation();
    }

    public void Dispose() { }
}
