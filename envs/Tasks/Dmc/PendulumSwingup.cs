using DiffTori.Engine;
using DiffTori.Envs.Physics;

namespace DiffTori.Envs.Tasks.Dmc;

/// <summary>
/// pendulum-swingup: start at a uniform angle in [-π, π) at rest; reward 1 while the pole is within 8° of
/// upright, else 0. Observation: (cos θ, sin θ, θ̇) = the pole frame's (zz, xz) entries and the velocity.
/// </summary>
public sealed class PendulumSwingup() : DmcTask("pendulum-swingup", new PendulumModel(), 3)
{
    public static readonly double CosineBound = Math.Cos(8 * Math.PI / 180);

    protected override void InitializeEpisode(RandomGenerator random, Span<double> qpos, Span<double> qvel) =>
        qpos[0] = Uniform(random, -Math.PI, Math.PI);

    protected override void WriteObservation(Span<double> o)
    {
        o[0] = Math.Cos(Qpos[0]);
        o[1] = Math.Sin(Qpos[0]);
        o[2] = Qvel[0];
    }

    protected override double Reward() => Tolerance.Evaluate(Math.Cos(Qpos[0]), CosineBound, 1.0);
}
