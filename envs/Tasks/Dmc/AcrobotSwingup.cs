using DiffTori.Engine;
using DiffTori.Envs.Physics;

namespace DiffTori.Envs.Tasks.Dmc;

/// <summary>
/// acrobot-swingup: both joints start uniform in [-π, π) at rest; the reward is a Gaussian tolerance of the
/// tip's distance to a target 2 m above the shoulder (bounds [0, 0.2], margin 1). Observation:
/// (sin φ1, sin φ2, cos φ1, cos φ2, q̇1, q̇2) with absolute link angles φ (the links' xz and zz entries).
/// </summary>
public sealed class AcrobotSwingup() : DmcTask("acrobot-swingup", new AcrobotModel(), 6)
{
    public const double TargetRadius = 0.2, TargetHeight = 2.0;

    protected override void InitializeEpisode(RandomGenerator random, Span<double> qpos, Span<double> qvel)
    {
        qpos[0] = Uniform(random, -Math.PI, Math.PI);
        qpos[1] = Uniform(random, -Math.PI, Math.PI);
    }

    protected override void WriteObservation(Span<double> o)
    {
        double phi1 = Qpos[0], phi2 = Qpos[0] + Qpos[1];
        o[0] = Math.Sin(phi1);
        o[1] = Math.Sin(phi2);
        o[2] = Math.Cos(phi1);
        o[3] = Math.Cos(phi2);
        o[4] = Qvel[0];
        o[5] = Qvel[1];
    }

    /// <summary>Distance from the tip to the target, both relative to the shoulder.</summary>
    public double TipToTarget()
    {
        double phi1 = Qpos[0], phi2 = Qpos[0] + Qpos[1];
        double x = Math.Sin(phi1) + Math.Sin(phi2);
        double z = Math.Cos(phi1) + Math.Cos(phi2);
        return Math.Sqrt(x * x + (TargetHeight - z) * (TargetHeight - z));
    }

    protected override double Reward() => Tolerance.Evaluate(TipToTarget(), 0, TargetRadius, margin: 1);
}
