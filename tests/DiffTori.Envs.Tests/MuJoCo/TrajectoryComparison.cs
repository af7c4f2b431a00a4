using DiffTori.Envs.MuJoCo;
using DiffTori.Envs.MuJoCo.Tasks;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>
/// Drives two physics instances from the same state with the same seeded random controls and measures how far
/// their trajectories (qpos, qvel) drift apart.
/// </summary>
public static class TrajectoryComparison
{
    public readonly record struct Drift(double MaxQpos, double MaxQvel, int Steps)
    {
        public override string ToString() => $"max |Δqpos| = {MaxQpos:E2}, max |Δqvel| = {MaxQvel:E2} over {Steps} steps";
    }

    /// <summary>
    /// Resets both, gives `a` a random start (dm_control's joint randomizer plus N(0, 0.1²) velocities), copies it
    /// into `b`, then steps both `steps` times (dm_control's legacy step order) with uniform controls in each
    /// actuator's ctrlrange.
    /// </summary>
    public static Drift Run(MjPhysics a, MjPhysics b, int seed, int steps, int subSteps = 1)
    {
        Assert.Equal(a.Model.Nq, b.Model.Nq);
        Assert.Equal(a.Model.Nv, b.Model.Nv);
        Assert.Equal(a.Model.Nu, b.Model.Nu);
        a.Reset();
        b.Reset();
        var random = new TaskRandom(seed);
        JointRandomizer.RandomizeLimitedAndRotational(a.Model, a.Data, random);
        var qvel = a.Data.Qvel;
        for (int i = 0; i < qvel.Length; i++) qvel[i] = 0.1 * random.Normal();
        a.Data.Qpos.CopyTo(b.Data.Qpos);
        a.Data.Qvel.CopyTo(b.Data.Qvel);
        a.AfterReset();
        b.AfterReset();

        var range = a.Model.ActuatorCtrlRange;
        double maxQpos = 0, maxQvel = 0;
        for (int t = 0; t < steps; t++)
        {
            var ca = a.Data.Ctrl;
            var cb = b.Data.Ctrl;
            for (int i = 0; i < ca.Length; i++)
                ca[i] = cb[i] = random.Uniform(range[2 * i], range[2 * i + 1]);
            a.Step(subSteps);
            b.Step(subSteps);
            maxQpos = Math.Max(maxQpos, MaxAbsDiff(a.Data.Qpos, b.Data.Qpos));
            maxQvel = Math.Max(maxQvel, MaxAbsDiff(a.Data.Qvel, b.Data.Qvel));
        }
        return new Drift(maxQpos, maxQvel, steps);
    }

    public static double MaxAbsDiff(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        double m = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = Math.Abs(x[i] - y[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            m = Math.Max(m, d);
        }
        return m;
    }
}
