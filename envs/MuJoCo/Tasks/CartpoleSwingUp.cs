using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.MuJoCo.Tasks;

/// <summary>
/// Cart-pole swing-up (dm_control suite): the pole starts hanging down (π + 0.01·N(0,1)), small random cart
/// position and velocities. Smooth reward: upright · centered · small-control · small-velocity; sparse reward:
/// cart within ±0.25 and pole cosine ≥ 0.995. Observation: cart x, pole (zz, xz), qvel. 1000 steps of 10 ms (RK4).
/// </summary>
public sealed class CartpoleSwingUp : MuJoCoTask
{
    private readonly bool _sparse;
    private readonly int _pole;

    public CartpoleSwingUp(bool sparse, string? name = null)
        : base(name ?? (sparse ? "mujoco/cartpole-swingup-sparse" : "mujoco/cartpole-swingup"),
               MuJoCoModels.Xml("cartpole"), subSteps: 1, maxEpisodeSteps: 1000, observationSize: 5)
    {
        _sparse = sparse;
        _pole = Model.GetId(MjObject.Body, "pole_1");
    }


    protected override void InitializeEpisode(TaskRandom random)
    {
        var qpos = Data.Qpos;
        qpos[0] = 0.01 * random.Normal();
        qpos[1] = Math.PI + 0.01 * random.Normal();
        var qvel = Data.Qvel;
        for (int i = 0; i < qvel.Length; i++) qvel[i] = 0.01 * random.Normal();
    }

    protected override void WriteObservation(Span<double> o)
    {
        o[0] = Data.Qpos[0];
        o[1] = XMat(_pole, ZZ);
        o[2] = XMat(_pole, XZ);
        o[3] = Data.Qvel[0];
        o[4] = Data.Qvel[1];
    }

    protected override double Reward()
    {
        double cart = Data.Qpos[0];
        double cosine = XMat(_pole, ZZ);
        if (_sparse)
            return Tolerance.Evaluate(cart, -0.25, 0.25) * Tolerance.Evaluate(cosine, 0.995, 1);
        double upright = (cosine + 1) / 2;
        double centered = (1 + Tolerance.Evaluate(cart, margin: 2)) / 2;
        double smallControl = (4 + Tolerance.Evaluate(Data.Ctrl[0], margin: 1, sigmoid: Sigmoid.Quadratic, valueAtMargin: 0)) / 5;
        double smallVelocity = (1 + Tolerance.Evaluate(Data.Qvel[1], margin: 5)) / 2;
        return upright * smallControl * smallVelocity * centered;
    }
}
