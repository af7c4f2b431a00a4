using DiffTori.Engine;
using DiffTori.Envs.Physics;

namespace DiffTori.Envs.Tasks.Dmc;

/// <summary>
/// reacher-easy (target radius 0.05) and reacher-hard (0.015): shoulder uniform in [-π, π), wrist uniform in its
/// ±160° range, target at radius U(0.05, 0.2) and angle U(0, 2π) placed at (r sin a, r cos a). Reward 1
/// while the finger is within target radius + finger radius (0.01) of the target. Observation:
/// (q1, q2, target − finger (x, y), q̇1, q̇2).
/// </summary>
public sealed class Reacher(bool hard) : DmcTask(hard ? "reacher-hard" : "reacher-easy", new ReacherModel(), 6)
{
    public const double FingerRadius = 0.01;
    public double TargetRadius { get; } = hard ? 0.015 : 0.05;
    public double TargetX { get; private set; }
    public double TargetY { get; private set; }

    /// <summary>Moves the target (for driving two simulators from the same situation).</summary>
    public void SetTarget(double x, double y)
    {
        TargetX = x;
        TargetY = y;
        WriteObservation(CurrentObservation);
    }

    protected override void InitializeEpisode(RandomGenerator random, Span<double> qpos, Span<double> qvel)
    {
        qpos[0] = Uniform(random, -Math.PI, Math.PI);
        qpos[1] = Uniform(random, -ReacherModel.WristLimit, ReacherModel.WristLimit);
        double angle = Uniform(random, 0, 2 * Math.PI);
        double radius = Uniform(random, 0.05, 0.20);
        TargetX = radius * Math.Sin(angle);
        TargetY = radius * Math.Cos(angle);
    }

    /// <summary>Finger position in the plane (the arm's hinges are about z, the base at the origin).</summary>
    public (double X, double Y) Finger()
    {
        double phi1 = Qpos[0], phi2 = Qpos[0] + Qpos[1];
        return (ReacherModel.ArmLength * Math.Cos(phi1) + ReacherModel.FingerOffset * Math.Cos(phi2),
                ReacherModel.ArmLength * Math.Sin(phi1) + ReacherModel.FingerOffset * Math.Sin(phi2));
    }

    protected override void WriteObservation(Span<double> o)
    {
        var (fx, fy) = Finger();
        o[0] = Qpos[0];
        o[1] = Qpos[1];
        o[2] = TargetX - fx;
        o[3] = TargetY - fy;
        o[4] = Qvel[0];
        o[5] = Qvel[1];
    }

    protected override double Reward()
    {
        var (fx, fy) = Finger();
        double distance = Math.Sqrt((TargetX - fx) * (TargetX - fx) + (TargetY - fy) * (TargetY - fy));
        return Tolerance.Evaluate(distance, 0, TargetRadius + FingerRadius);
    }
}
