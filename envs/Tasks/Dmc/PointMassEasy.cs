using DiffTori.Engine;
using DiffTori.Envs.Physics;

namespace DiffTori.Envs.Tasks.Dmc;

/// <summary>
/// point_mass-easy: the mass starts uniform in its ±0.29 box at rest; the target (radius 0.015) is at the
/// origin. Reward: Gaussian tolerance of the distance (bounds [0, 0.015], margin 0.015) times
/// (4 + mean quadratic control tolerance) / 5. Observation (x, y, ẋ, ẏ).
/// </summary>
public sealed class PointMassEasy() : DmcTask("point_mass-easy", new PointMassModel(), 4)
{
    public const double TargetSize = 0.015;

    protected override void InitializeEpisode(RandomGenerator random, Span<double> qpos, Span<double> qvel)
    {
        qpos[0] = Uniform(random, -PointMassModel.Range, PointMassModel.Range);
        qpos[1] = Uniform(random, -PointMassModel.Range, PointMassModel.Range);
    }

    protected override void WriteObservation(Span<double> o)
    {
        o[0] = Qpos[0];
        o[1] = Qpos[1];
        o[2] = Qvel[0];
        o[3] = Qvel[1];
    }

    protected override double Reward()
    {
        double distance = Math.Sqrt(Qpos[0] * Qpos[0] + Qpos[1] * Qpos[1]);
        double nearTarget = Tolerance.Evaluate(distance, 0, TargetSize, margin: TargetSize);
        double control = 0;
        for (int i = 0; i < 2; i++)
            control += Tolerance.Evaluate(Control[i], margin: 1, sigmoid: Sigmoid.Quadratic, valueAtMargin: 0);
        double smallControl = (control / 2 + 4) / 5;
        return nearTarget * smallControl;
    }
}
