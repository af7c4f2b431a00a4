namespace DiffTori.Envs.MuJoCo;

/// <summary>
/// A model plus its data, stepped the way dm_control 1.0.7 steps them (its "legacy" order), so that the
/// position/velocity-derived fields (xpos, xmat, sensors) always match qpos/qvel when a task reads them:
/// Euler models finish the pending step with mj_step2, run mj_step n-1 times, then mj_step1;
/// RK4 models run mj_step n times, then mj_step1.
/// </summary>
public sealed class MjPhysics : IDisposable
{
    public MjModel Model { get; }
    public MjData Data { get; }
    private readonly bool _rk4;

    public MjPhysics(MjModel model)
    {
        Model = model;
        Data = model.MakeData();
        _rk4 = model.Integrator == Native.MjConstants.IntegratorRk4;
    }

    public static MjPhysics FromXml(string xml) => new(MjModel.FromXml(xml));
    public static MjPhysics FromFile(string path) => new(MjModel.FromFile(path));

    /// <summary>dm_control's Physics.reset(): mj_resetData, then mj_forward with actuation disabled.</summary>
    public void Reset()
    {
        Data.Reset();
        Data.ForwardWithoutActuation();
    }

    /// <summary>Call after changing qpos/qvel (dm_control's end of reset_context): recompute derived fields.</summary>
    public void AfterReset() => Data.ForwardWithoutActuation();

    /// <summary>Advances nstep physics steps with the current ctrl in dm_control's legacy order.</summary>
    public void Step(int nstep = 1)
    {
        if (!_rk4)
        {
            Data.Step2();
            for (int i = 1; i < nstep; i++) Data.Step();
        }
        else
        {
            for (int i = 0; i < nstep; i++) Data.Step();
        }
        Data.Step1();
    }

    public void Dispose()
    {
        Data.Dispose();
        Model.Dispose();
    }
}
