using DiffTori.Engine;
using DiffTori.Envs.Physics;

namespace DiffTori.Envs.Tasks.Dmc;

/// <summary>
/// Shared machinery of a DeepMind Control task on a managed model: the agent's action in [-1, 1] becomes
/// the control (ctrlrange), one physics step runs per env step (these tasks' control timestep equals the
/// physics timestep), reward and observation are read after the step, and the episode is truncated after
/// 1000 steps. Action repeat is the wrapper's job. Observation and state buffers are reused every step.
/// </summary>
public abstract class DmcTask : IEnv, IPhysicsState
{
    public const int EpisodeSteps = 1000;

    readonly double[] _qpos, _qvel, _ctrl, _rawAction, _observation;
    int _steps;
    bool _needsReset = true;

    protected DmcTask(string name, RigidBodyModel model, int observationDimension)
    {
        Name = name;
        Model = model;
        _qpos = new double[model.Dofs];
        _qvel = new double[model.Dofs];
        _ctrl = new double[model.Actuators];
        _rawAction = new double[model.Actuators];
        _observation = new double[observationDimension];
        ObservationSpace = BoxSpace.Unbounded(observationDimension);
        ActionSpace = BoxSpace.Symmetric(model.Actuators);
    }

    public string Name { get; }
    public RigidBodyModel Model { get; }
    public BoxSpace ObservationSpace { get; }
    public BoxSpace ActionSpace { get; }
    public int MaxEpisodeSteps => EpisodeSteps;
    public int PositionDimension => Model.Dofs;
    public int VelocityDimension => Model.Dofs;
    public double[] CurrentObservation => _observation;

    /// <summary>Steps taken in this episode.</summary>
    public int StepCount => _steps;

    protected ReadOnlySpan<double> Qpos => _qpos;
    protected ReadOnlySpan<double> Qvel => _qvel;

    /// <summary>The control as the agent sent it (dm_control's data.ctrl, not yet clamped): rewards read it.</summary>
    protected ReadOnlySpan<double> Control => _rawAction;

    public double[] Reset(int seed)
    {
        Array.Clear(_qpos);
        Array.Clear(_qvel);
        Array.Clear(_ctrl);
        Array.Clear(_rawAction);
        InitializeEpisode(new RandomGenerator(unchecked((ulong)seed)), _qpos, _qvel);
        _steps = 0;
        _needsReset = false;
        WriteObservation(_observation);
        return _observation;
    }

    public StepResult Step(ReadOnlySpan<double> action)
    {
        if (_needsReset)
            throw new InvalidOperationException($"{Name}: Step called before Reset or after the episode ended.");
        ActionCheck.Validate(Name, action, Model.Actuators);
        for (int i = 0; i < _ctrl.Length; i++)
        {
            _rawAction[i] = action[i];
            _ctrl[i] = ActionCheck.ToRange(action[i], Model.CtrlLow[i], Model.CtrlHigh[i]);
        }
        Model.Step(_qpos, _qvel, _ctrl);
        _steps++;
        double reward = Reward();
        WriteObservation(_observation);
        bool truncated = _steps >= EpisodeSteps;
        if (truncated) _needsReset = true;
        return new StepResult(_observation, reward, false, truncated);
    }

    /// <summary>The reward of the current state and control (as after a step).</summary>
    public double CurrentReward() => Reward();

    public void GetState(Span<double> qpos, Span<double> qvel)
    {
        _qpos.CopyTo(qpos);
        _qvel.CopyTo(qvel);
    }

    public void SetState(ReadOnlySpan<double> qpos, ReadOnlySpan<double> qvel)
    {
        if (qpos.Length != _qpos.Length || qvel.Length != _qvel.Length)
            throw new ArgumentException(
                $"{Name}: SetState expects qpos[{_qpos.Length}] and qvel[{_qvel.Length}], got qpos[{qpos.Length}] and qvel[{qvel.Length}].");
        qpos.CopyTo(_qpos);
        qvel.CopyTo(_qvel);
        if (_steps < EpisodeSteps) _needsReset = false;
        WriteObservation(_observation);
    }

    /// <summary>Sets the control the reward reads, without stepping (for checking rewards at a chosen state).</summary>
    public void SetControl(ReadOnlySpan<double> action)
    {
        ActionCheck.Validate(Name, action, Model.Actuators);
        action.CopyTo(_rawAction);
    }

    /// <summary>Draws the initial state (qpos, qvel start at zero, as after MuJoCo's reset).</summary>
    protected abstract void InitializeEpisode(RandomGenerator random, Span<double> qpos, Span<double> qvel);

    protected abstract void WriteObservation(Span<double> observation);

    protected abstract double Reward();

    public void Dispose() { }

    protected static double Uniform(RandomGenerator random, double low, double high) => low + (high - low) * random.NextDouble();
}
