using DiffTori.Engine;
using DiffTori.Envs.Physics;

namespace DiffTori.Envs.Tasks.Dmc;

/// <summary>
/// cartpole-swingup and cartpole-swingup-sparse: the pole starts hanging down (θ = π + 0.01·N(0,1)), the cart
/// near the centre (0.01·N), velocities 0.01·N. Observation (x, cos θ, sin θ, ẋ, θ̇).
/// Smooth reward: upright·centred·small-control·small-velocity; sparse: cart within ±0.25 and cos θ ≥ 0.995.
/// </summary>
public sealed class CartpoleSwingup(bool sparse) : DmcTask(sparse ? "cartpole-swingup-sparse" : "cartpole-swingup", new CartpoleModel(), 5)
{
    public bool Sparse { get; } = sparse;

    protected override void InitializeEpisode(RandomGenerator random, Span<double> qpos, Span<double> qvel)
    {
        qpos[0] = 0.01 * random.NextNormal();
        qpos[1] = Math.PI + 0.01 * random.NextNormal();
        qvel[0] = 0.01 * random.NextNormal();
        qvel[1] = 0.01 * random.NextNormal();
    }

    protected override void WriteObservation(Span<double> o)
    {
        o[0] = Qpos[0];
        o[1] = Math.Cos(Qpos[1]);
        o[2] = Math.Sin(Qpos[1]);
        o[3] = Qvel[0];
        o[4] = Qvel[1];
    }

    protected override double Reward()
    {
        double cart = Qpos[0], cosine = Math.Cos(Qpos[1]);
        if (Sparse)
            return Tolerance.Evaluate(cart, -0.25, 0.25) * Tolerance.Evaluate(cosine, 0.995, 1.0);
        double upright = (cosine + 1) / 2;
        double centered = (1 + Tolerance.Evaluate(cart, margin: 2)) / 2;
        double smallControl = (4 + Tolerance.Evaluate(Control[0], margin: 1, sigmoid: Sigmoid.Quadratic, valueAtMargin: 0)) / 5;
        double smallVelocity = (1 + Tolerance.Evaluate(Qvel[1], margin: 5)) / 2;
        return upright * smallControl * smallVelocity * centered;
    }
}
