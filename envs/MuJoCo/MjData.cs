using System.Runtime.InteropServices;
using DiffTori.Envs.MuJoCo.Native;
using D = DiffTori.Envs.MuJoCo.Native.MjDataOffsets;

namespace DiffTori.Envs.MuJoCo;

/// <summary>Owns an mjData*; keeps its model alive (AddRef) until mj_deleteData has run.</summary>
internal sealed class MjDataHandle : SafeHandle
{
    private readonly MjModelHandle _model;

    public MjDataHandle(MjModelHandle model) : base(IntPtr.Zero, ownsHandle: true)
    {
        bool added = false;
        model.DangerousAddRef(ref added);
        _model = model;
    }

    public void Set(IntPtr data) => SetHandle(data);
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override unsafe bool ReleaseHandle()
    {
        MuJoCoLibrary.Api.DeleteData(handle);
        _model.DangerousRelease();
        return true;
    }
}

/// <summary>
/// Simulation state and derived quantities (mjData) of one model. Arrays are spans into MuJoCo's memory,
/// so reading an observation or writing ctrl costs nothing beyond the copy the caller makes.
/// </summary>
public sealed unsafe class MjData : IDisposable
{
    private readonly MjDataHandle _handle;
    private readonly delegate* unmanaged<IntPtr, IntPtr, void> _step;
    private readonly IntPtr _m;

    public MjModel Model { get; }

    /// <summary>The raw mjData*, valid while this object is alive.</summary>
    public IntPtr Pointer { get; }

    internal MjData(MjModel model)
    {
        var api = MuJoCoLibrary.Api;
        Model = model;
        _m = model.Pointer;
        _handle = new MjDataHandle(model.Handle);
        Pointer = api.MakeData(model.Pointer);
        if (Pointer == IntPtr.Zero)
        {
            _handle.Dispose();
            throw new OutOfMemoryException("MjData: mj_makeData returned null (could not allocate the arena)");
        }
        _handle.Set(Pointer);
        _step = api.Step;
    }

    /// <summary>mj_resetData: qpos = qpos0, everything else zero, time = 0.</summary>
    public void Reset() => MuJoCoLibrary.Api.ResetData(_m, Pointer);

    /// <summary>mj_step: one full step.</summary>
    public void Step() => _step(_m, Pointer);

    /// <summary>mj_step1: positions and velocities dependent quantities (before the control is set).</summary>
    public void Step1() => MuJoCoLibrary.Api.Step1(_m, Pointer);

    /// <summary>mj_step2: actuation, acceleration and integration (after mj_step1).</summary>
    public void Step2() => MuJoCoLibrary.Api.Step2(_m, Pointer);

    /// <summary>mj_forward: all derived quantities for the current state, no integration.</summary>
    public void Forward() => MuJoCoLibrary.Api.Forward(_m, Pointer);

    /// <summary>mj_forward with actuation disabled, as dm_control does after a reset.</summary>
    public void ForwardWithoutActuation()
    {
        int flags = Model.DisableFlags;
        Model.DisableFlags = flags | MjConstants.DisableActuation;
        try { Forward(); }
        finally { Model.DisableFlags = flags; }
    }

    public double Time
    {
        get => *(double*)(Pointer + D.time);
        set => *(double*)(Pointer + D.time) = value;
    }

    public int NCon => *(int*)(Pointer + D.ncon);

    /// <summary>Potential and kinetic energy (computed when the model enables the energy flag).</summary>
    public ReadOnlySpan<double> Energy => new((void*)(Pointer + D.energy), 2);

    public Span<double> Qpos => Doubles(D.qpos, Model.Nq);
    public Span<double> Qvel => Doubles(D.qvel, Model.Nv);
    public Span<double> Act => Doubles(D.act, Model.Na);
    public Span<double> QaccWarmstart => Doubles(D.qacc_warmstart, Model.Nv);
    public Span<double> Ctrl => Doubles(D.ctrl, Model.Nu);
    public Span<double> QfrcApplied => Doubles(D.qfrc_applied, Model.Nv);
    public Span<double> XfrcApplied => Doubles(D.xfrc_applied, Model.NBody * 6);
    public ReadOnlySpan<double> Qacc => Doubles(D.qacc, Model.Nv);
    public ReadOnlySpan<double> SensorData => Doubles(D.sensordata, Model.NSensorData);
    public ReadOnlySpan<double> XPos => Doubles(D.xpos, Model.NBody * 3);
    public ReadOnlySpan<double> XQuat => Doubles(D.xquat, Model.NBody * 4);
    public ReadOnlySpan<double> XMat => Doubles(D.xmat, Model.NBody * 9);
    public ReadOnlySpan<double> XIPos => Doubles(D.xipos, Model.NBody * 3);
    public ReadOnlySpan<double> XAnchor => Doubles(D.xanchor, Model.NJnt * 3);
    public ReadOnlySpan<double> GeomXPos => Doubles(D.geom_xpos, Model.NGeom * 3);
    public ReadOnlySpan<double> GeomXMat => Doubles(D.geom_xmat, Model.NGeom * 9);
    public ReadOnlySpan<double> SiteXPos => Doubles(D.site_xpos, Model.NSite * 3);
    public ReadOnlySpan<double> SiteXMat => Doubles(D.site_xmat, Model.NSite * 9);
    public ReadOnlySpan<double> SubtreeCom => Doubles(D.subtree_com, Model.NBody * 3);
    public ReadOnlySpan<double> CVel => Doubles(D.cvel, Model.NBody * 6);

    /// <summary>The values of one sensor (by id), a slice of sensordata.</summary>
    public ReadOnlySpan<double> Sensor(int sensorId) =>
        SensorData.Slice(Model.SensorAdr[sensorId], Model.SensorDim[sensorId]);

    public void Dispose() => _handle.Dispose();

    private Span<double> Doubles(int offset, int count) => new(*(double**)(Pointer + offset), count);
}
