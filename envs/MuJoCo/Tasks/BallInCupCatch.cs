using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Ball-in-cup catch (dm_control suite): the ball starts at a random collision-free spot (x ∈ [-0.2, 0.2],
/// z ∈ [0.2, 0.5]); reward 1 while the ball lies wholly inside the cup's target box (x and z), else 0.
/// Observation: qpos, qvel. 1000 steps of 20 ms (10 physics steps).
/// </summary>
public sealed class BallInCupCatch : MuJoCoTask
{
    private readonly int _ballX, _ballZ, _ball, _target, _ballGeom;

    public BallInCupCatch(string name = "cup-catch")
        : base(name, MuJoCoModels.Xml("ball_in_cup"), subSteps: 10, maxEpisodeSteps: 1000, observationSize: 8)
    {
        _ballX = Model.JntQposAdr[Model.GetId(MjObject.Joint, "ball_x")];
        _ballZ = Model.JntQposAdr[Model.GetId(MjObject.Joint, "ball_z")];
        _ball = Model.GetId(MjObject.Body, "ball");
        _target = Model.GetId(MjObject.Site, "target");
        _ballGeom = Model.GetId(MjObject.Geom, "ball");
    }

    protected override void InitializeEpisode(TaskRandom random)
    {
        // Redraw until the ball touches nothing (dm_control loops without a cap; it succeeds within a few draws).
        do
        {
            Data.Qpos[_ballX] = random.Uniform(-0.2, 0.2);
            Data.Qpos[_ballZ] = random.Uniform(0.2, 0.5);
            Physics.AfterReset();
        } while (Data.NCon > 0);
    }

    protected override void WriteObservation(Span<double> o)
    {
        Data.Qpos.CopyTo(o);
        Data.Qvel.CopyTo(o[Model.Nq..]);
    }

    protected override double Reward()
    {
        var site = Data.SiteXPos;
        var body = Data.XPos;
        double ballRadius = Model.GeomSize[3 * _ballGeom];
        bool inX = Math.Abs(site[3 * _target] - body[3 * _ball]) < Model.SiteSize[3 * _target] - ballRadius;
        bool inZ = Math.Abs(site[3 * _target + 2] - body[3 * _ball + 2]) < Model.SiteSize[3 * _target + 2] - ballRadius;
        return inX && inZ ? 1 : 0;
    }
}
