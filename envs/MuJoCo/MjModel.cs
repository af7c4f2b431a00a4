using System.Runtime.InteropServices;
using System.Text;
using DiffTori.Envs.MuJoCo.Native;
using M = DiffTori.Envs.MuJoCo.Native.MjModelOffsets;

namespace DiffTori.Envs.MuJoCo;

/// <summary>MuJoCo object kinds for name lookups (mjtObj values).</summary>
public enum MjObject
{
    Body = 1,
    XBody = 2,
    Joint = 3,
    Dof = 4,
    Geom = 5,
    Site = 6,
    Camera = 7,
    Actuator = 18,
    Sensor = 19,
}

/// <summary>Owns an mjModel*; freed by mj_deleteModel when the last user (the model or a data) lets go.</summary>
internal sealed class MjModelHandle : SafeHandle
{
    public MjModelHandle(IntPtr model) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(model);
    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override unsafe bool ReleaseHandle()
    {
        MuJoCoLibrary.Api.DeleteModel(handle);
        return true;
    }
}

/// <summary>
/// A compiled MuJoCo 2.2.2 model (mjModel). Sizes are read once; arrays are spans straight into MuJoCo's
/// memory (writes change the model, as dm_control does when it moves a target geom).
/// </summary>
public sealed unsafe class MjModel : IDisposable
{
    internal readonly MjModelHandle Handle;

    /// <summary>The raw mjModel*, valid while this object (or an MjData made from it) is alive.</summary>
    public IntPtr Pointer { get; }

    public int Nq { get; }
    public int Nv { get; }
    public int Nu { get; }
    public int Na { get; }
    public int NBody { get; }
    public int NJnt { get; }
    public int NGeom { get; }
    public int NSite { get; }
    public int NSensor { get; }
    public int NSensorData { get; }

    private MjModel(IntPtr model)
    {
        Handle = new MjModelHandle(model);
        Pointer = model;
        Nq = ReadInt(M.nq);
        Nv = ReadInt(M.nv);
        Nu = ReadInt(M.nu);
        Na = ReadInt(M.na);
        NBody = ReadInt(M.nbody);
        NJnt = ReadInt(M.njnt);
        NGeom = ReadInt(M.ngeom);
        NSite = ReadInt(M.nsite);
        NSensor = ReadInt(M.nsensor);
        NSensorData = ReadInt(M.nsensordata);
    }

    /// <summary>Compiles an MJCF file (includes resolve relative to it).</summary>
    public static MjModel FromFile(string path)
    {
        var api = MuJoCoLibrary.Api;
        if (!File.Exists(path))
            throw new FileNotFoundException($"MjModel.FromFile: no MJCF file at '{path}'", path);
        var error = new byte[1000];
        IntPtr model;
        byte[] pathBytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = pathBytes)
        fixed (byte* e = error)
            model = api.LoadXml(p, IntPtr.Zero, e, error.Length);
        if (model == IntPtr.Zero)
        {
            int len = Array.IndexOf(error, (byte)0);
            string message = Encoding.UTF8.GetString(error, 0, len < 0 ? error.Length : len);
            throw new InvalidDataException($"MjModel: mj_loadXML failed for '{path}': {message}");
        }
        return new MjModel(model);
    }

    /// <summary>Compiles MJCF text (written to a private temp file, since 2.2.2's loader reads files).</summary>
    public static MjModel FromXml(string xml)
    {
        _ = MuJoCoLibrary.Api; // fail early with the install hint
        string dir = Directory.CreateTempSubdirectory("difftori-mjcf-").FullName;
        try
        {
            string path = Path.Combine(dir, "model.xml");
            File.WriteAllText(path, xml);
            return FromFile(path);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Id of a named object, or -1 when there is none.</summary>
    public int TryGetId(MjObject kind, string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = bytes)
            return MuJoCoLibrary.Api.Name2Id(Pointer, (int)kind, p);
    }

    /// <summary>Id of a named object; throws naming the object when the model has no such name.</summary>
    public int GetId(MjObject kind, string name)
    {
        int id = TryGetId(kind, name);
        if (id < 0) throw new KeyNotFoundException($"MjModel.GetId: the model has no {kind} named '{name}'");
        return id;
    }

    public double Timestep
    {
        get => *(double*)(Pointer + M.opt_timestep);
        set => *(double*)(Pointer + M.opt_timestep) = value;
    }

    /// <summary>0 = semi-implicit Euler, 1 = RK4 (mjtIntegrator).</summary>
    public int Integrator => ReadInt(M.opt_integrator);

    /// <summary>mjtDisableBit flags (opt.disableflags).</summary>
    public int DisableFlags
    {
        get => ReadInt(M.opt_disableflags);
        set => *(int*)(Pointer + M.opt_disableflags) = value;
    }

    public Span<double> Qpos0 => Doubles(M.qpos0, Nq);
    public ReadOnlySpan<int> BodyParentId => Ints(M.body_parentid, NBody);
    public Span<double> BodyPos => Doubles(M.body_pos, NBody * 3);
    public Span<double> BodyQuat => Doubles(M.body_quat, NBody * 4);
    public Span<double> BodyMass => Doubles(M.body_mass, NBody);
    public ReadOnlySpan<double> BodySubtreeMass => Doubles(M.body_subtreemass, NBody);
    public ReadOnlySpan<int> JntType => Ints(M.jnt_type, NJnt);
    public ReadOnlySpan<int> JntQposAdr => Ints(M.jnt_qposadr, NJnt);
    public ReadOnlySpan<int> JntDofAdr => Ints(M.jnt_dofadr, NJnt);
    public ReadOnlySpan<byte> JntLimited => Bytes(M.jnt_limited, NJnt);
    public Span<double> JntRange => Doubles(M.jnt_range, NJnt * 2);
    public Span<double> DofDamping => Doubles(M.dof_damping, Nv);
    public ReadOnlySpan<int> GeomType => Ints(M.geom_type, NGeom);
    public ReadOnlySpan<int> GeomBodyId => Ints(M.geom_bodyid, NGeom);
    public Span<double> GeomSize => Doubles(M.geom_size, NGeom * 3);
    public Span<double> GeomPos => Doubles(M.geom_pos, NGeom * 3);
    public Span<double> GeomQuat => Doubles(M.geom_quat, NGeom * 4);
    public ReadOnlySpan<int> SiteBodyId => Ints(M.site_bodyid, NSite);
    public Span<double> SiteSize => Doubles(M.site_size, NSite * 3);
    public Span<double> SitePos => Doubles(M.site_pos, NSite * 3);
    public ReadOnlySpan<byte> ActuatorCtrlLimited => Bytes(M.actuator_ctrllimited, Nu);
    public Span<double> ActuatorCtrlRange => Doubles(M.actuator_ctrlrange, Nu * 2);
    public Span<double> ActuatorGear => Doubles(M.actuator_gear, Nu * 6);
    public ReadOnlySpan<int> SensorType => Ints(M.sensor_type, NSensor);
    public ReadOnlySpan<int> SensorDim => Ints(M.sensor_dim, NSensor);
    public ReadOnlySpan<int> SensorAdr => Ints(M.sensor_adr, NSensor);

    /// <summary>Makes a new mjData for this model.</summary>
    public MjData MakeData() => new(this);

    public void Dispose() => Handle.Dispose();

    private int ReadInt(int offset) => *(int*)(Pointer + offset);
    private Span<double> Doubles(int offset, int count) => new(*(double**)(Pointer + offset), count);
    private ReadOnlySpan<int> Ints(int offset, int count) => new(*(int**)(Pointer + offset), count);
    private ReadOnlySpan<byte> Bytes(int offset, int count) => new(*(byte**)(Pointer + offset), count);
}
