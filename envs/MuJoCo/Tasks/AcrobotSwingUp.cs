using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Acrobot swing-up (dm_control suite): both joints uniform in [-π, π); reward tolerance of the tip-to-target
/// distance with bounds (0, target radius) and margin 1 (0 for the sparse variant). Observation:
/// (xz, xz, zz, zz) of upper and lower arm, qvel. 1000 steps of 10 ms (RK4).
/// </summary>
public sealed class AcrobotSwingUp : MuJoCoTask
{
    private readonly bool _sparse;
    private readonly int _upper, _lower, _target, _tip;

    public AcrobotSwingUp(bool sparse = false, string? name = null)
        : base(name ?? (sparse ? "mujoco/acrobot-swingup-sparse" : "mujoco/acrobot-swingup"),
               MuJoCoModels.Xml("acrobot"), subSteps: 1, maxEpisodeSteps: 1000, observationSize: 6)
    {
        _sparse = sparse;
        _upper = Model.GetId(MjObject.Body, "upper_arm");
        _lower = Model.GetId(MjObject.Body, "lower_arm");
        _target = Model.GetId(MjObject.Site, "target");
        _tip = Model.GetId(MjObject.Site, "tip");
    }


    protected override void InitializeEpisode(TaskRandom random)
    {
        Data.Qpos[0] = random.Uniform(-Math.PI, Math.PI);
        Data.Qpos[1] = random.Uniform(-Math.PI, Math.PI);
    }

    protected override void WriteObservation(Span<double> o)
    {
        o[0] = XMat(_upper, XZ);
        o[1] = XMat(_lower, XZ);
        o[2] = XMat(_upper, ZZ);
        o[3] = XMat(_lower, ZZ);
        o[4] = Data.Qvel[0];
        o[5] = Data.Qvel[1];
    }

    protected override double Reward()
    {
        var s = Data.SiteXPos;
        double dx = s[3 * _target] - s[3 * _tip], dy = s[3 * _target + 1] - s[3 * _tip + 1], dz = s[3 * _target + 2] - s[3 * _tip + 2];
        double distance = Math.Sqrt(dx * dx + dy * dy + dz * dz);
        double radius = Model.SiteSize[3 * _target];
        return Tolerance.Evaluate(distance, 0, radius, margin: _sparse ? 0 : 1);
    }
}
