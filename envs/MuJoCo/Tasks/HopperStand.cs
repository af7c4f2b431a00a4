using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Hopper stand / hop (dm_control suite): random limited and rotational joints; reward = standing (torso above
/// the foot by 0.6–2 m) times a small-control term (stand) or a linear forward-speed term (hop, ≥ 2 m/s).
/// Observation: qpos without rootx, qvel, log(1 + touch) at toe and heel. 1000 steps of 20 ms (4 physics steps).
/// </summary>
public sealed class HopperStand : MuJoCoTask
{
    public const double StandHeight = 0.6, HopSpeed = 2;
    private readonly bool _hopping;
    private readonly int _torso, _foot, _speedSensor, _toeSensor, _heelSensor;

    public HopperStand(bool hopping = false, string? name = null)
        : base(name ?? (hopping ? "hopper-hop" : "hopper-stand"), MuJoCoModels.Xml("hopper"), subSteps: 4, maxEpisodeSteps: 1000, observationSize: 15)
    {
        _hopping = hopping;
        _torso = Model.GetId(MjObject.Body, "torso");
        _foot = Model.GetId(MjObject.Body, "foot");
        _speedSensor = Model.GetId(MjObject.Sensor, "torso_subtreelinvel");
        _toeSensor = Model.GetId(MjObject.Sensor, "touch_toe");
        _heelSensor = Model.GetId(MjObject.Sensor, "touch_heel");
    }


    protected override void InitializeEpisode(TaskRandom random) =>
        JointRandomizer.RandomizeLimitedAndRotational(Model, Data, random);

    protected override void WriteObservation(Span<double> o)
    {
        Data.Qpos[1..].CopyTo(o);
        int k = Model.Nq - 1;
        Data.Qvel.CopyTo(o[k..]);
        k += Model.Nv;
        o[k] = double.LogP1(Data.Sensor(_toeSensor)[0]);
        o[k + 1] = double.LogP1(Data.Sensor(_heelSensor)[0]);
    }

    protected override double Reward()
    {
        double height = Data.XIPos[3 * _torso + 2] - Data.XIPos[3 * _foot + 2];
        double standing = Tolerance.Evaluate(height, StandHeight, 2);
        if (_hopping)
            return standing * Tolerance.Evaluate(Data.Sensor(_speedSensor)[0], HopSpeed, double.PositiveInfinity,
                                           margin: HopSpeed / 2, sigmoid: Sigmoid.Linear, valueAtMargin: 0.5);
        var ctrl = Data.Ctrl;
        double smallControl = 0;
        for (int i = 0; i < ctrl.Length; i++)
            smallControl += Tolerance.Evaluate(ctrl[i], margin: 1, sigmoid: Sigmoid.Quadratic, valueAtMargin: 0);
        smallControl = (smallControl / ctrl.Length + 4) / 5;
        return standing * smallControl;
    }
}
