using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Quadruped walk (0.5 m/s, floor 10 m) / run (5 m/s, floor 100 m) (dm_control suite): a random orientation,
/// lowered onto the floor from above the first contact-free height; reward = upright term (linear in the torso's
/// zz) times a linear forward-velocity term. Observation: hinge qpos and qvel, actuator activations, torso
/// velocity (velocimeter), torso upright, IMU (accelerometer, gyro), asinh of the toes' force/torque sensors.
/// 1000 steps of 20 ms (4 physics steps).
/// </summary>
public sealed class QuadrupedMove : MuJoCoTask
{
    public const double WalkSpeed = 0.5, RunSpeed = 5;
    private const int HingeType = 3; // mjJNT_HINGE
    private static readonly string[] Toes = ["toe_front_left", "toe_front_right", "toe_back_right", "toe_back_left"];

    private readonly double _desiredSpeed;
    private readonly int _torso, _rootQpos, _velocimeter, _accel, _gyro;
    private readonly int[] _hingeQpos, _hingeDof, _forceTorque;

    public QuadrupedMove(double desiredSpeed, string name)
        : base(name, ModelXml(floorSize: 20 * desiredSpeed), subSteps: 4, maxEpisodeSteps: 1000, observationSize: 78)
    {
        _desiredSpeed = desiredSpeed;
        _torso = Model.GetId(MjObject.Body, "torso");
        _rootQpos = Model.JntQposAdr[Model.GetId(MjObject.Joint, "root")];
        _velocimeter = Model.GetId(MjObject.Sensor, "velocimeter");
        _accel = Model.GetId(MjObject.Sensor, "imu_accel");
        _gyro = Model.GetId(MjObject.Sensor, "imu_gyro");
        var qpos = new List<int>();
        var dof = new List<int>();
        for (int j = 0; j < Model.NJnt; j++)
            if (Model.JntType[j] == HingeType) { qpos.Add(Model.JntQposAdr[j]); dof.Add(Model.JntDofAdr[j]); }
        _hingeQpos = qpos.ToArray();
        _hingeDof = dof.ToArray();
        // dm_control lists force sensors then torque sensors, each in model order.
        _forceTorque = Toes.Select(t => Model.GetId(MjObject.Sensor, "force_" + t))
            .Concat(Toes.Select(t => Model.GetId(MjObject.Sensor, "torque_" + t))).Order().ToArray();
    }

    public static QuadrupedMove Walk() => new(WalkSpeed, "quadruped-walk");
    public static QuadrupedMove Run() => new(RunSpeed, "quadruped-run");

    /// <summary>Our quadruped model with the floor's half-size set as dm_control's task does (20 s × speed).</summary>
    public static string ModelXml(double floorSize)
    {
        const string floor = "<geom name=\"floor\" type=\"plane\" size=\"10 10 0.5\"/>";
        string xml = MuJoCoModels.Xml("quadruped");
        if (!xml.Contains(floor)) throw new InvalidDataException("QuadrupedMove: the quadruped model's floor geom was not found");
        string size = floorSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return xml.Replace(floor, $"<geom name=\"floor\" type=\"plane\" size=\"{size} {size} 0.5\"/>");
    }

    protected override void InitializeEpisode(TaskRandom random)
    {
        Span<double> orientation = stackalloc double[4];
        double norm = 0;
        for (int i = 0; i < 4; i++) { orientation[i] = random.Normal(); norm += orientation[i] * orientation[i]; }
        norm = Math.Sqrt(norm);
        for (int i = 0; i < 4; i++) orientation[i] /= norm;
        FindNonContactingHeight(orientation);
    }

    /// <summary>dm_control's _find_non_contacting_height: from z = 0 up in 1 cm steps until nothing touches.</summary>
    private void FindNonContactingHeight(ReadOnlySpan<double> orientation)
    {
        double z = 0;
        for (int attempt = 0; attempt <= 10000; attempt++)
        {
            Physics.Reset();
            var root = Data.Qpos.Slice(_rootQpos, 7);
            root[0] = 0; root[1] = 0; root[2] = z;
            orientation.CopyTo(root[3..]);
            Physics.AfterReset();
            if (Data.NCon == 0) return;
            z += 0.01;
        }
        throw new InvalidOperationException($"{Name}: no contact-free starting height found");
    }

    protected override void WriteObservation(Span<double> o)
    {
        int k = 0;
        foreach (int a in _hingeQpos) o[k++] = Data.Qpos[a];
        foreach (int d in _hingeDof) o[k++] = Data.Qvel[d];
        Data.Act.CopyTo(o[k..]);
        k += Model.Na;
        Data.Sensor(_velocimeter).CopyTo(o[k..]);
        k += 3;
        o[k++] = XMat(_torso, ZZ);
        Data.Sensor(_accel).CopyTo(o[k..]);
        k += 3;
        Data.Sensor(_gyro).CopyTo(o[k..]);
        k += 3;
        foreach (int s in _forceTorque)
            foreach (double v in Data.Sensor(s)) o[k++] = Math.Asinh(v);
    }

    protected override double Reward()
    {
        double upright = Tolerance.Evaluate(XMat(_torso, ZZ), 1, double.PositiveInfinity,
                                            margin: 2, sigmoid: Sigmoid.Linear, valueAtMargin: 0);
        double move = Tolerance.Evaluate(Data.Sensor(_velocimeter)[0], _desiredSpeed, double.PositiveInfinity,
                                         margin: _desiredSpeed, sigmoid: Sigmoid.Linear, valueAtMargin: 0.5);
        return upright * move;
    }
}
