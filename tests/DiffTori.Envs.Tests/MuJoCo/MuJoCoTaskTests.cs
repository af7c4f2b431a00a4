using DiffTori.Envs.MuJoCo;
using DiffTori.Envs.MuJoCo.Tasks;
using Xunit.Abstractions;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>Every MuJoCo task: a random-policy episode is well formed; reset is seeded; observations match closed forms.</summary>
public class MuJoCoTaskTests(ITestOutputHelper output)
{
    public static TheoryData<string> TaskNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in MuJoCoTasks.Names) data.Add(name);
        return data;
    }

    [MuJoCoTheory]
    [MemberData(nameof(TaskNames))]
    public void RandomPolicyEpisodeIsWellFormed(string name)
    {
        using var env = MuJoCoTasks.Make(name);
        Assert.Equal(name, env.Name);
        Assert.Equal(1000, env.MaxEpisodeSteps);
        double[] obs = env.Reset(seed: 7);
        Assert.Equal(env.ObservationSpace.Dimension, obs.Length);
        AssertFinite(obs, name, 0);

        var random = new Random(11);
        var action = new double[env.ActionSpace.Dimension];
        double episodeReturn = 0;
        int steps = 0;
        while (true)
        {
            for (int i = 0; i < action.Length; i++) action[i] = 2 * random.NextDouble() - 1;
            var step = env.Step(action);
            steps++;
            Assert.InRange(step.Reward, 0.0, 1.0);
            AssertFinite(step.Observation, name, steps);
            episodeReturn += step.Reward;
            Assert.False(step.Terminated);
            if (step.Done) { Assert.True(step.Truncated); break; }
            Assert.True(steps < 1000, "the episode must end at the time limit");
        }
        Assert.Equal(1000, steps);
        Assert.InRange(episodeReturn, 0.0, 1000.0);
        output.WriteLine($"{name}: random-policy return {episodeReturn:F1}");
    }

    [MuJoCoTheory]
    [MemberData(nameof(TaskNames))]
    public void ResetIsAFunctionOfTheSeed(string name)
    {
        using var a = MuJoCoTasks.Make(name);
        using var b = MuJoCoTasks.Make(name);
        double[] first = (double[])a.Reset(3).Clone();
        a.Step(new double[a.ActionSpace.Dimension]);
        Assert.Equal(first, b.Reset(3));
        Assert.Equal(first, a.Reset(3)); // a reset after stepping starts over exactly
        Assert.NotEqual(first, a.Reset(4));
    }

    [MuJoCoFact]
    public void PendulumObservationAndRewardMatchTheHingeAngle()
    {
        using var env = new PendulumSwingUp();
        double[] obs = env.Reset(5);
        // Rotation about y by θ: the pole frame's zz = cos θ and xz = sin θ.
        double theta = Math.Atan2(obs[1], obs[0]);
        Assert.Equal(1.0, obs[0] * obs[0] + obs[1] * obs[1], 12);
        var step = env.Step([0.0]);
        double thetaNext = Math.Atan2(step.Observation[1], step.Observation[0]);
        // One step of MuJoCo's Euler integrator from rest: (I + h·b)·θ'₁ = h·m·g·l·sin θ (damping b is integrated
        // implicitly), θ₁ = θ + h·θ'₁. I = m·l² + (2/5)·m·r² for the 1 kg sphere of radius 0.05 at l = 0.5
        // (pole and base are massless); the hinge axis is +y, so gravity's torque about it is +m·g·l·sin θ.
        double m = 1, l = 0.5, r = 0.05, g = 9.81, b = 0.1, h = 0.02;
        double inertia = m * l * l + 0.4 * m * r * r;
        double velocity = h * m * g * l * Math.Sin(theta) / (inertia + h * b);
        Assert.Equal(velocity, step.Observation[2], 10);
        Assert.Equal(theta + h * velocity, thetaNext, 10);
        double expectedReward = Math.Cos(thetaNext) >= Math.Cos(8 * Math.PI / 180) ? 1 : 0;
        Assert.Equal(expectedReward, step.Reward);
    }

    [MuJoCoFact]
    public void CartpoleStartsHangingDownNearTheCenter()
    {
        using var env = new CartpoleSwingUp(sparse: false);
        double[] obs = env.Reset(9);
        Assert.InRange(obs[0], -0.05, 0.05);   // cart x = 0.01·N(0,1)
        Assert.InRange(obs[1], -1.0, -0.999);  // pole cosine ≈ cos(π)
        Assert.InRange(Math.Abs(obs[2]), 0.0, 0.05);
        var step = env.Step([0.0]);
        // Hanging, slow and centered: upright ≈ 0, so the smooth reward is ≈ 0.
        Assert.InRange(step.Reward, 0.0, 1e-3);
    }

    [MuJoCoFact]
    public void ActionsAreClippedToTheUnitBox()
    {
        using var a = new CheetahRun();
        using var b = new CheetahRun();
        a.Reset(1);
        b.Reset(1);
        var ra = a.Step([5, -5, 1, 1, -1, 3]);
        var rb = b.Step([1, -1, 1, 1, -1, 1]);
        Assert.Equal(ra.Observation, rb.Observation);
        Assert.Throws<ArgumentException>(() => a.Step([0.0, 0, 0]));
        Assert.Throws<ArgumentException>(() => a.Step([double.NaN, 0, 0, 0, 0, 0]));
    }

    [MuJoCoFact]
    public void ReacherTargetSizeAndPlacementFollowTheTask()
    {
        using var hard = new Reacher(hard: true);
        double[] obs = hard.Reset(2);
        // finger→target vector: the target sits at radius in [0.05, 0.2] from the base, the finger 0.22 from it.
        double d = Math.Sqrt(obs[2] * obs[2] + obs[3] * obs[3]);
        Assert.InRange(d, 0.0, 0.42 + 1e-9);
        var step = hard.Step([0.0, 0.0]);
        Assert.Equal(d <= Reacher.SmallTarget + 0.01 ? 1.0 : 0.0, step.Reward);
    }

    [Fact]
    public void UnknownTaskNameListsTheKnownOnes()
    {
        var ex = Assert.Throws<KeyNotFoundException>(() => MuJoCoTasks.Make("nope-run"));
        Assert.Contains("cheetah-run", ex.Message);
    }

    private static void AssertFinite(double[] values, string name, int step)
    {
        for (int i = 0; i < values.Length; i++)
            Assert.True(double.IsFinite(values[i]), $"{name}: observation[{i}] = {values[i]} at step {step}");
    }
}

/// <summary>The MuJoCo tasks in the shared registry.</summary>
public class MuJoCoRegistryTests
{
    [Fact]
    public void EveryMuJoCoTaskIsRegisteredWithTheMuJoCoBackend()
    {
        foreach (string name in MuJoCoTasks.Names)
        {
            Assert.True(EnvRegistry.Contains(name), name);
            Assert.Equal(EnvSpec.MuJoCo, EnvRegistry.Spec(name).Backend);
        }
    }

    [MuJoCoFact]
    public void RegistryBuildsEachTaskMatchingItsSpec()
    {
        // EnvRegistry.Make checks name and dimensions against the spec.
        foreach (string name in MuJoCoTasks.Names)
        {
            using var env = EnvRegistry.Make(name, actionRepeat: null);
            Assert.Equal(EnvRegistry.Spec(name).ObservationDimension, env.Reset(1).Length);
        }
    }
}

/// <summary>Rewards of the sparse contact tasks at hand-picked states.</summary>
public class MuJoCoSparseRewardTests
{
    [MuJoCoFact]
    public void CupCatchPaysOnlyWithTheBallInTheCup()
    {
        using var env = new DiffTori.Envs.MuJoCo.Tasks.BallInCupCatch();
        env.Reset(1);
        // Cup at rest at its origin (target box centre at z = 0.55); ball body starts at z = 0.2, so ball_z = 0.35
        // puts it in the middle of the box, clear of the cup's bottom (0.508) by 0.017.
        env.SetState([0, 0, 0, 0.35], [0, 0, 0, 0]);
        Assert.Equal(1.0, env.Step([0.0, 0.0]).Reward);
        env.SetState([0, 0, 0.3, 0.35], [0, 0, 0, 0]); // beside the cup
        Assert.Equal(0.0, env.Step([0.0, 0.0]).Reward);
    }

    [MuJoCoFact]
    public void FingerSpinPaysWhileTheSpinnerTurnsFastNegatively()
    {
        using var env = new DiffTori.Envs.MuJoCo.Tasks.Finger(DiffTori.Envs.MuJoCo.Tasks.Finger.Variant.Spin);
        env.Reset(1);
        var qpos = new double[3];
        var qvel = new double[3];
        env.GetState(qpos, qvel);
        qvel[2] = -30; // hinge: well past the 15 rad/s threshold, in the rewarded direction
        env.SetState(qpos, qvel);
        var step = env.Step([0.0, 0.0]);
        Assert.True(step.Observation[6] < -15, $"hinge velocity {step.Observation[6]}");
        Assert.Equal(1.0, step.Reward);
        qvel[2] = 30; // the other way earns nothing
        env.SetState(qpos, qvel);
        Assert.Equal(0.0, env.Step([0.0, 0.0]).Reward);
    }
}
