using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Pendulum swing-up (dm_control suite): start at a uniform random angle; reward 1 while the pole is within
/// 8° of upright (tolerance on the pole frame's zz), else 0. Observation: pole (zz, xz), angular velocity.
/// 1000 steps of 20 ms.
/// </summary>
public sealed class PendulumSwingUp : MuJoCoTask
{
    private static readonly double CosineBound = Math.Cos(8 * Math.PI / 180);
    private readonly int _pole, _hinge;

    public PendulumSwingUp(string name = "mujoco/pendulum-swingup")
        : base(name, MuJoCoModels.Xml("pendulum"), subSteps: 1, maxEpisodeSteps: 1000, observationSize: 3)
    {
        _pole = Model.GetId(MjObject.Body, "pole");
        _hinge = Model.JntQposAdr[Model.GetId(MjObject.Joint, "hinge")];
    }


    protected override void InitializeEpisode(TaskRandom random) =>
        Data.Qpos[_hinge] = random.Uniform(-Math.PI, Math.PI);

    protected override void WriteObservation(Span<double> o)
    {
        o[0] = XMat(_pole, ZZ);
        o[1] = XMat(_pole, XZ);
        o[2] = Data.Qvel[_hinge];
    }

    protected override double Reward() => Tolerance.Evaluate(XMat(_pole, ZZ), CosineBound, 1);
}
