using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Finger spin / turn-easy / turn-hard (dm_control suite). Spin: reward 1 while the spinner turns faster than
/// 15 rad/s (negative direction), with the spinner's damping lowered to 0.03. Turn: a target on the spinner's
/// circle (uniform angle, radius 0.07 easy / 0.03 hard); reward 1 while the spinner's tip is inside it.
/// Start: random collision-free joint angles. Observation (all from sensors): joint angles and tip position
/// relative to the spinner, velocities, log(1 + touch); turn adds target position and distance to target.
/// 1000 steps of 20 ms (2 physics steps).
/// </summary>
public sealed class Finger : MuJoCoTask
{
    public enum Variant { Spin, TurnEasy, TurnHard }

    public const double EasyTargetSize = 0.07, HardTargetSize = 0.03, SpinVelocity = 15.0;
    private readonly Variant _variant;
    private readonly int _proximal, _distal, _proximalVel, _distalVel, _hingeVel, _tip, _target, _spinner, _touchTop, _touchBottom;
    private readonly int _hingeJoint, _targetSite;

    public Finger(Variant variant, string? name = null)
        : base(name ?? variant switch { Variant.Spin => "finger-spin", Variant.TurnEasy => "finger-turn-easy", _ => "finger-turn-hard" },
               MuJoCoModels.Xml("finger"), subSteps: 2, maxEpisodeSteps: 1000, observationSize: variant == Variant.Spin ? 9 : 12)
    {
        _variant = variant;
        _proximal = Sensor("proximal");
        _distal = Sensor("distal");
        _proximalVel = Sensor("proximal_velocity");
        _distalVel = Sensor("distal_velocity");
        _hingeVel = Sensor("hinge_velocity");
        _tip = Sensor("tip");
        _target = Sensor("target");
        _spinner = Sensor("spinner");
        _touchTop = Sensor("touchtop");
        _touchBottom = Sensor("touchbottom");
        _hingeJoint = Model.GetId(MjObject.Joint, "hinge");
        _targetSite = Model.GetId(MjObject.Site, "target");
    }

    protected override void InitializeEpisode(TaskRandom random)
    {
        if (_variant == Variant.Spin)
        {
            Model.DofDamping[Model.JntDofAdr[_hingeJoint]] = 0.03;
        }
        else
        {
            double angle = random.Uniform(-Math.PI, Math.PI);
            var anchor = Data.XAnchor.Slice(3 * _hingeJoint, 3);
            int cap1 = Model.GetId(MjObject.Geom, "cap1");
            var capSize = Model.GeomSize.Slice(3 * cap1, 3);
            double radius = capSize[0] + capSize[1] + capSize[2];
            Model.SitePos[3 * _targetSite] = anchor[0] + radius * Math.Sin(angle);
            Model.SitePos[3 * _targetSite + 2] = anchor[2] + radius * Math.Cos(angle);
            Model.SiteSize[3 * _targetSite] = _variant == Variant.TurnEasy ? EasyTargetSize : HardTargetSize;
        }
        SetRandomCollisionFreeJointAngles(random);
    }

    /// <summary>dm_control's _set_random_joint_angles: redraw until no contact, at most 1000 times.</summary>
    private void SetRandomCollisionFreeJointAngles(TaskRandom random)
    {
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            JointRandomizer.RandomizeLimitedAndRotational(Model, Data, random);
            Physics.AfterReset();
            if (Data.NCon == 0) return;
        }
        throw new InvalidOperationException($"{Name}: no collision-free start found in 1000 attempts");
    }

    protected override void WriteObservation(Span<double> o)
    {
        o[0] = S(_proximal)[0];
        o[1] = S(_distal)[0];
        var (tipX, tipZ) = TipPosition();
        o[2] = tipX;
        o[3] = tipZ;
        o[4] = S(_proximalVel)[0];
        o[5] = S(_distalVel)[0];
        o[6] = S(_hingeVel)[0];
        o[7] = double.LogP1(S(_touchTop)[0]);
        o[8] = double.LogP1(S(_touchBottom)[0]);
        if (_variant == Variant.Spin) return;
        var (targetX, targetZ) = TargetPosition();
        o[9] = targetX;
        o[10] = targetZ;
        o[11] = DistanceToTarget();
    }

    protected override double Reward() => _variant == Variant.Spin
        ? (S(_hingeVel)[0] <= -SpinVelocity ? 1 : 0)
        : (DistanceToTarget() <= 0 ? 1 : 0);

    private (double X, double Z) TipPosition() => (S(_tip)[0] - S(_spinner)[0], S(_tip)[2] - S(_spinner)[2]);

    private (double X, double Z) TargetPosition() => (S(_target)[0] - S(_spinner)[0], S(_target)[2] - S(_spinner)[2]);

    /// <summary>Distance from the tip to the target's surface (≤ 0 inside).</summary>
    private double DistanceToTarget()
    {
        var (tx, tz) = TargetPosition();
        var (px, pz) = TipPosition();
        return Math.Sqrt((tx - px) * (tx - px) + (tz - pz) * (tz - pz)) - Model.SiteSize[3 * _targetSite];
    }

    private int Sensor(string name) => Model.GetId(MjObject.Sensor, name);
    private ReadOnlySpan<double> S(int sensor) => Data.Sensor(sensor);
}
