using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Reacher easy/hard (dm_control suite): random joint angles, target placed at a uniform angle and a radius in
/// [0.05, 0.2]; target radius 0.05 (easy) or 0.015 (hard). Reward 1 while the finger touches the target
/// (tolerance of the distance with bounds (0, target + finger radii)). Observation: qpos, finger→target (x, y), qvel.
/// 1000 steps of 20 ms.
/// </summary>
public sealed class Reacher : MuJoCoTask
{
    public const double BigTarget = 0.05, SmallTarget = 0.015;
    private readonly double _targetSize;
    private readonly int _target, _finger;

    public Reacher(bool hard, string? name = null)
        : base(name ?? (hard ? "mujoco/reacher-hard" : "mujoco/reacher-easy"),
               MuJoCoModels.Xml("reacher"), subSteps: 1, maxEpisodeSteps: 1000, observationSize: 6)
    {
        _targetSize = hard ? SmallTarget : BigTarget;
        _target = Model.GetId(MjObject.Geom, "target");
        _finger = Model.GetId(MjObject.Geom, "finger");
    }

    /// <summary>The target's position in the plane (moved by each reset).</summary>
    public (double X, double Y) Target => (Model.GeomPos[3 * _target], Model.GeomPos[3 * _target + 1]);


    protected override void InitializeEpisode(TaskRandom random)
    {
        Model.GeomSize[3 * _target] = _targetSize;
        JointRandomizer.RandomizeLimitedAndRotational(Model, Data, random);
        double angle = random.Uniform(0, 2 * Math.PI);
        double radius = random.Uniform(0.05, 0.20);
        Model.GeomPos[3 * _target] = radius * Math.Sin(angle);
        Model.GeomPos[3 * _target + 1] = radius * Math.Cos(angle);
    }

    protected override void WriteObservation(Span<double> o)
    {
        o[0] = Data.Qpos[0];
        o[1] = Data.Qpos[1];
        var g = Data.GeomXPos;
        o[2] = g[3 * _target] - g[3 * _finger];
        o[3] = g[3 * _target + 1] - g[3 * _finger + 1];
        o[4] = Data.Qvel[0];
        o[5] = Data.Qvel[1];
    }

    protected override double Reward()
    {
        var g = Data.GeomXPos;
        double dx = g[3 * _target] - g[3 * _finger], dy = g[3 * _target + 1] - g[3 * _finger + 1];
        double radii = Model.GeomSize[3 * _target] + Model.GeomSize[3 * _finger];
        return Tolerance.Evaluate(Math.Sqrt(dx * dx + dy * dy), 0, radii);
    }
}
