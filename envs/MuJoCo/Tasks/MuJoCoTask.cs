namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// A DeepMind Control task on the MuJoCo backend, following dm_control's control.Environment:
/// Reset = physics reset, InitializeEpisode, forward; Step = set ctrl from the action, step the physics
/// SubSteps times (legacy order), then read reward and observation. Actions in [-1, 1] map linearly onto
/// each actuator's ctrlrange (all suite actuators used here have ctrlrange [-1, 1], so the map is the identity).
/// Like dm_control, the mapped action goes into ctrl unclamped and MuJoCo clamps it to ctrlrange when it
/// applies the actuators (every actuator here is ctrllimited); rewards that read ctrl see what the agent sent.
/// </summary>
public abstract class MuJoCoTask : IEnv, IPhysicsState
{
    protected MjPhysics Physics { get; }
    protected MjModel Model => Physics.Model;
    protected MjData Data => Physics.Data;

    public string Name { get; }
    public BoxSpace ObservationSpace { get; }
    public BoxSpace ActionSpace { get; }
    public int MaxEpisodeSteps { get; }

    /// <summary>Physics steps per agent step (control timestep / physics timestep).</summary>
    public int SubSteps { get; }

    private readonly double[] _observation;
    private readonly double[] _ctrlLow, _ctrlHigh;
    private int _stepCount;
    private bool _started;

    protected MuJoCoTask(string name, string modelXml, int subSteps, int maxEpisodeSteps, int observationSize)
        : this(name, MjModel.FromXml(modelXml), subSteps, maxEpisodeSteps, observationSize) { }

    /// <param name="observationSize">Length of the flat observation (the suite's observation dict, concatenated in order).</param>
    protected MuJoCoTask(string name, MjModel model, int subSteps, int maxEpisodeSteps, int observationSize)
    {
        Name = name;
        Physics = new MjPhysics(model);
        SubSteps = subSteps;
        MaxEpisodeSteps = maxEpisodeSteps;
        int nu = Model.Nu;
        _ctrlLow = new double[nu];
        _ctrlHigh = new double[nu];
        var range = Model.ActuatorCtrlRange;
        var limited = Model.ActuatorCtrlLimited;
        for (int i = 0; i < nu; i++)
        {
            if (limited[i] == 0)
                throw new InvalidDataException($"{name}: actuator {i} has no ctrlrange; MuJoCoTask needs bounded actuators");
            _ctrlLow[i] = range[2 * i];
            _ctrlHigh[i] = range[2 * i + 1];
        }
        ActionSpace = BoxSpace.Symmetric(nu);
        _observation = new double[observationSize];
        ObservationSpace = BoxSpace.Unbounded(_observation.Length);
    }

    /// <summary>Sets the episode's initial state (qpos, qvel, model edits) after the physics reset.</summary>
    protected abstract void InitializeEpisode(TaskRandom random);

    /// <summary>Writes the observation into `observation` (length ObservationSize).</summary>
    protected abstract void WriteObservation(Span<double> observation);

    /// <summary>The reward for the current state, in [0, 1].</summary>
    protected abstract double Reward();

    /// <summary>True when the episode ends by itself (no suite task used here does; dm_control tasks run to the time limit).</summary>
    protected virtual bool IsTerminal() => false;

    public double[] Reset(int seed)
    {
        Physics.Reset();
        InitializeEpisode(new TaskRandom(seed));
        Physics.AfterReset();
        _stepCount = 0;
        _started = true;
        WriteObservation(_observation);
        return _observation;
    }

    public StepResult Step(ReadOnlySpan<double> action)
    {
        if (!_started) throw new InvalidOperationException($"{Name}.Step: call Reset(seed) before the first Step");
        ActionCheck.Validate(Name, action, _ctrlLow.Length);
        var ctrl = Data.Ctrl;
        for (int i = 0; i < ctrl.Length; i++)
            ctrl[i] = _ctrlLow[i] + 0.5 * (action[i] + 1.0) * (_ctrlHigh[i] - _ctrlLow[i]);
        Physics.Step(SubSteps);
        _stepCount++;
        double reward = Reward();
        WriteObservation(_observation);
        bool terminated = IsTerminal();
        return new StepResult(_observation, reward, terminated, !terminated && _stepCount >= MaxEpisodeSteps);
    }

    public int PositionDimension => Model.Nq;
    public int VelocityDimension => Model.Nv;
    public double[] CurrentObservation => _observation;

    public void GetState(Span<double> qpos, Span<double> qvel)
    {
        Data.Qpos.CopyTo(qpos);
        Data.Qvel.CopyTo(qvel);
    }

    /// <summary>Overwrites qpos/qvel and recomputes the derived fields (mj_forward), as dm_control's set_state does.</summary>
    public void SetState(ReadOnlySpan<double> qpos, ReadOnlySpan<double> qvel)
    {
        if (qpos.Length != Model.Nq || qvel.Length != Model.Nv)
            throw new ArgumentException(
                $"{Name}: SetState expects qpos[{Model.Nq}] and qvel[{Model.Nv}], got qpos[{qpos.Length}] and qvel[{qvel.Length}].");
        qpos.CopyTo(Data.Qpos);
        qvel.CopyTo(Data.Qvel);
        Physics.AfterReset();
        _started = true;
        WriteObservation(_observation);
    }

    public void Dispose()
    {
        Physics.Dispose();
        GC.SuppressFinalize(this);
    }

    // Small readers of dm_control's named indexing, e.g. xmat['pole', 'zz'].
    protected double XMat(int body, int entry) => Data.XMat[9 * body + entry];
    protected const int XX = 0, XY = 1, XZ = 2, YX = 3, YY = 4, YZ = 5, ZX = 6, ZY = 7, ZZ = 8;
}
