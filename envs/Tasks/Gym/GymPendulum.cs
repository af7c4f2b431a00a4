using DiffTori.Engine;

namespace DiffTori.Envs.Tasks.Gym;

/// <summary>
/// Gymnasium's Pendulum-v1: θ̈ = 3g/(2l)·sin θ + 3/(ml²)·u with g = 10, m = l = 1, dt = 0.05, |θ̇| ≤ 8,
/// |u| ≤ 2 (agent action a ∈ [-1, 1] → u = 2a); reward −(norm(θ)² + 0.1·θ̇² + 0.001·u²) from the state
/// before the step; start θ ~ U(-π, π), θ̇ ~ U(-1, 1); 200 steps. Observations are float32 like Gymnasium's.
/// </summary>
public sealed class GymPendulum : IEnv, IPhysicsState
{
    public const double MaxSpeed = 8, MaxTorque = 2, Dt = 0.05, G = 10, M = 1, L = 1;
    public const int EpisodeSteps = 200;

    readonly double[] _observation = new double[3];
    double _theta, _thetaDot;
    int _steps;
    bool _needsReset = true;

    public string Name => "Pendulum-v1";
    public BoxSpace ObservationSpace { get; } = new([-1, -1, -MaxSpeed], [1, 1, MaxSpeed]);
    public BoxSpace ActionSpace { get; } = BoxSpace.Symmetric(1);
    public int MaxEpisodeSteps => EpisodeSteps;
    public int PositionDimension => 1;
    public int VelocityDimension => 1;
    public double[] CurrentObservation => _observation;

    public double[] Reset(int seed)
    {
        var random = new RandomGenerator(unchecked((ulong)seed));
        _theta = -Math.PI + 2 * Math.PI * random.NextDouble();
        _thetaDot = -1 + 2 * random.NextDouble();
        _steps = 0;
        _needsReset = false;
        WriteObservation();
        return _observation;
    }

    public StepResult Step(ReadOnlySpan<double> action)
    {
        if (_needsReset) throw new InvalidOperationException($"{Name}: Step called before Reset or after the episode ended.");
        ActionCheck.Validate(Name, action, 1);
        double u = Math.Clamp(MaxTorque * action[0], -MaxTorque, MaxTorque);
        double angle = NormalizeAngle(_theta);
        double cost = angle * angle + 0.1 * _thetaDot * _thetaDot + 0.001 * u * u;
        double newThetaDot = _thetaDot + (3 * G / (2 * L) * Math.Sin(_theta) + 3.0 / (M * L * L) * u) * Dt;
        newThetaDot = Math.Clamp(newThetaDot, -MaxSpeed, MaxSpeed);
        _theta += newThetaDot * Dt;
        _thetaDot = newThetaDot;
        _steps++;
        WriteObservation();
        bool truncated = _steps >= EpisodeSteps;
        if (truncated) _needsReset = true;
        return new StepResult(_observation, -cost, false, truncated);
    }

    /// <summary>Python's ((x + π) mod 2π) − π, with a non-negative modulo.</summary>
    public static double NormalizeAngle(double x)
    {
        double twoPi = 2 * Math.PI;
        double r = (x + Math.PI) % twoPi;
        if (r < 0) r += twoPi;
        return r - Math.PI;
    }

    void WriteObservation()
    {
        _observation[0] = (float)Math.Cos(_theta);
        _observation[1] = (float)Math.Sin(_theta);
        _observation[2] = (float)_thetaDot;
    }

    public void GetState(Span<double> qpos, Span<double> qvel)
    {
        qpos[0] = _theta;
        qvel[0] = _thetaDot;
    }

    public void SetState(ReadOnlySpan<double> qpos, ReadOnlySpan<double> qvel)
    {
        if (qpos.Length != 1 || qvel.Length != 1)
            throw new ArgumentException($"{Name}: SetState expects qpos[1] and qvel[1], got qpos[{qpos.Length}] and qvel[{qvel.Length}].");
        _theta = qpos[0];
        _thetaDot = qvel[0];
        if (_steps < EpisodeSteps) _needsReset = false;
        WriteObservation();
    }

    public void Dispose() { }
}
