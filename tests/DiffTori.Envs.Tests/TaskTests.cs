using DiffTori.Envs.Tasks.Dmc;

namespace DiffTori.Envs.Tests;

public class TaskTests
{
    static T At<T>(T env, double[] q, double[] v) where T : DmcTask
    {
        env.Reset(0);
        env.SetState(q, v);
        return env;
    }

    [Fact]
    public void Pendulum_reward_is_one_within_8_degrees_of_upright()
    {
        var env = At(new PendulumSwingup(), [7.9 * Math.PI / 180], [3.0]);
        Assert.Equal(1.0, env.CurrentReward());
        Assert.Equal([Math.Cos(7.9 * Math.PI / 180), Math.Sin(7.9 * Math.PI / 180), 3.0], env.CurrentObservation);
        env.SetState([-8.1 * Math.PI / 180], [0]);
        Assert.Equal(0.0, env.CurrentReward());
        env.SetState([2 * Math.PI], [0]);
        Assert.Equal(1.0, env.CurrentReward());
    }

    [Fact]
    public void Cartpole_smooth_reward_by_hand()
    {
        var env = At(new CartpoleSwingup(sparse: false), [0.5, 1.0], [0.3, 2.0]);
        env.SetControl([0.5]);
        double upright = (Math.Cos(1.0) + 1) / 2;
        double centered = (1 + Math.Exp(-0.5 * Math.Pow(0.5 / 2 * Math.Sqrt(-2 * Math.Log(0.1)), 2))) / 2;
        double smallControl = (4 + (1 - 0.25)) / 5;
        double smallVelocity = (1 + Math.Exp(-0.5 * Math.Pow(2.0 / 5 * Math.Sqrt(-2 * Math.Log(0.1)), 2))) / 2;
        Assert.Equal(upright * centered * smallControl * smallVelocity, env.CurrentReward(), 14);
        Assert.Equal([0.5, Math.Cos(1.0), Math.Sin(1.0), 0.3, 2.0], env.CurrentObservation);
    }

    [Fact]
    public void Cartpole_sparse_reward_needs_centred_cart_and_upright_pole()
    {
        var env = At(new CartpoleSwingup(sparse: true), [0.2, 0.05], [0, 0]);
        Assert.Equal(1.0, env.CurrentReward());
        env.SetState([0.26, 0.05], [0, 0]);
        Assert.Equal(0.0, env.CurrentReward());
        env.SetState([0.0, 0.2], [0, 0]);
        Assert.Equal(0.0, env.CurrentReward());
    }

    [Fact]
    public void Acrobot_observation_and_reward_by_hand()
    {
        var env = At(new AcrobotSwingup(), [0.3, 0.4], [1.5, -2.5]);
        Assert.Equal([Math.Sin(0.3), Math.Sin(0.7), Math.Cos(0.3), Math.Cos(0.7), 1.5, -2.5], env.CurrentObservation);
        double x = Math.Sin(0.3) + Math.Sin(0.7), z = 2 + Math.Cos(0.3) + Math.Cos(0.7);
        double distance = Math.Sqrt(x * x + (4 - z) * (4 - z));
        double d = (distance - 0.2) / 1.0;
        Assert.Equal(Math.Exp(-0.5 * d * d * -2 * Math.Log(0.1)), env.CurrentReward(), 14);
        env.SetState([0, 0], [0, 0]); // straight up: tip exactly on the target
        Assert.Equal(1.0, env.CurrentReward());
    }

    [Fact]
    public void Reacher_observation_and_sparse_reward_by_hand()
    {
        var env = At(new Reacher(hard: false), [0.5, -0.3], [0.1, 0.2]);
        env.SetTarget(0.1, 0.15);
        double fx = 0.12 * Math.Cos(0.5) + 0.12 * Math.Cos(0.2), fy = 0.12 * Math.Sin(0.5) + 0.12 * Math.Sin(0.2);
        Assert.Equal([0.5, -0.3, 0.1 - fx, 0.15 - fy, 0.1, 0.2], env.CurrentObservation);
        Assert.Equal(0.0, env.CurrentReward()); // about 0.11 away
        env.SetTarget(fx + 0.059, fy);
        Assert.Equal(1.0, env.CurrentReward());
        var hard = At(new Reacher(hard: true), [0.5, -0.3], [0, 0]);
        hard.SetTarget(fx + 0.03, fy);
        Assert.Equal(0.0, hard.CurrentReward());
        hard.SetTarget(fx + 0.024, fy);
        Assert.Equal(1.0, hard.CurrentReward());
    }

    [Fact]
    public void Reacher_initial_target_is_in_the_annulus_and_wrist_in_range()
    {
        var env = new Reacher(hard: false);
        for (int seed = 0; seed < 50; seed++)
        {
            var o = env.Reset(seed);
            double radius = Math.Sqrt(env.TargetX * env.TargetX + env.TargetY * env.TargetY);
            Assert.InRange(radius, 0.05, 0.2);
            Assert.InRange(o[1], -160 * Math.PI / 180, 160 * Math.PI / 180);
            Assert.InRange(o[0], -Math.PI, Math.PI);
        }
    }

    [Fact]
    public void Point_mass_reward_by_hand()
    {
        var env = At(new PointMassEasy(), [0.01, 0.005], [0.2, -0.1]);
        env.SetControl([0.5, -1.0]);
        double smallControl = ((0.75 + 0.0) / 2 + 4) / 5;
        Assert.Equal(smallControl, env.CurrentReward(), 14);
        env.SetState([0.03, 0.0], [0, 0]);
        double d = (0.03 - 0.015) / 0.015;
        Assert.Equal(Math.Exp(-0.5 * d * d * -2 * Math.Log(0.1)) * smallControl, env.CurrentReward(), 14);
        Assert.Equal([0.03, 0.0, 0.0, 0.0], env.CurrentObservation);
    }

    [Fact]
    public void Cartpole_swingup_starts_hanging_down()
    {
        var env = new CartpoleSwingup(sparse: false);
        var o = env.Reset(3);
        Assert.InRange(o[0], -0.1, 0.1);
        Assert.InRange(o[1], -1, -0.99);
    }

    public static TheoryData<string> ManagedNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in RegistryTests.ManagedTasks) data.Add(name);
        return data;
    }

    [Theory]
    [MemberData(nameof(ManagedNames))]
    public void Random_policy_episode_is_finite_and_has_the_declared_length(string name)
    {
        var spec = EnvRegistry.Spec(name, EnvSpec.Managed);
        using var env = EnvRegistry.Make(name, backend: EnvSpec.Managed);
        var rng = new Random(17);
        var obs = env.Reset(11);
        Assert.Equal(spec.ObservationDimension, obs.Length);
        var action = new double[spec.ActionDimension];
        double total = 0;
        int steps = 0;
        StepResult r;
        do
        {
            for (int i = 0; i < action.Length; i++) action[i] = rng.NextDouble() * 2 - 1;
            r = env.Step(action);
            total += r.Reward;
            steps++;
            Assert.All(r.Observation, x => Assert.True(double.IsFinite(x), $"{name}: non-finite observation at step {steps}"));
        } while (!r.Done);
        Assert.True(double.IsFinite(total));
        if (name.Contains('-') && char.IsLower(name[0]))
        {
            Assert.Equal(1000, steps);
            Assert.True(r.Truncated && !r.Terminated);
            Assert.InRange(total, 0, 1000);
        }
        else if (name == "Pendulum-v1")
        {
            Assert.Equal(200, steps);
            Assert.InRange(total, -200 * (Math.PI * Math.PI + 0.1 * 64 + 0.001 * 4), 0);
        }
        else
        {
            Assert.InRange(steps, 1, 999);
            Assert.InRange(total, -0.1 * steps, 100);
        }
    }

    [Theory]
    [MemberData(nameof(ManagedNames))]
    public void Same_seed_same_episode_and_different_seed_different_start(string name)
    {
        double[] Run(int seed)
        {
            using var env = EnvRegistry.Make(name, backend: EnvSpec.Managed);
            var trace = new List<double>(env.Reset(seed));
            var action = new double[env.ActionSpace.Dimension];
            for (int k = 0; k < 50; k++)
            {
                for (int i = 0; i < action.Length; i++) action[i] = Math.Sin(0.3 * k + i);
                var r = env.Step(action);
                trace.AddRange(r.Observation);
                trace.Add(r.Reward);
            }
            return trace.ToArray();
        }
        Assert.Equal(Run(5), Run(5));
        using var a = EnvRegistry.Make(name, backend: EnvSpec.Managed);
        using var b = EnvRegistry.Make(name, backend: EnvSpec.Managed);
        Assert.NotEqual(a.Reset(1).ToArray(), b.Reset(2).ToArray());
    }

    [Theory]
    [MemberData(nameof(ManagedNames))]
    public void Bad_actions_name_the_task_and_the_offender(string name)
    {
        using var env = EnvRegistry.Make(name, backend: EnvSpec.Managed);
        env.Reset(0);
        int m = env.ActionSpace.Dimension;
        var e = Assert.Throws<ArgumentException>(() => env.Step(new double[m + 1]));
        Assert.Contains(name, e.Message);
        Assert.Contains($"length {m + 1}", e.Message);
        var nan = new double[m];
        nan[m - 1] = double.NaN;
        e = Assert.Throws<ArgumentException>(() => env.Step(nan));
        Assert.Contains(name, e.Message);
        Assert.Contains($"action[{m - 1}]", e.Message);
        Assert.Contains("NaN", e.Message);
        var inf = new double[m];
        inf[0] = double.PositiveInfinity;
        e = Assert.Throws<ArgumentException>(() => env.Step(inf));
        Assert.Contains("action[0]", e.Message);
    }

    [Fact]
    public void Step_before_reset_is_an_error()
    {
        using var env = new PendulumSwingup();
        var e = Assert.Throws<InvalidOperationException>(() => env.Step([0.0]));
        Assert.Contains("pendulum-swingup", e.Message);
    }

    [Fact]
    public void State_round_trips_and_drives_the_same_trajectory()
    {
        var a = new AcrobotSwingup();
        var b = new AcrobotSwingup();
        a.Reset(1);
        b.Reset(2);
        for (int k = 0; k < 10; k++) a.Step([0.7]);
        var q = new double[2];
        var v = new double[2];
        a.GetState(q, v);
        b.SetState(q, v);
        for (int k = 0; k < 10; k++)
        {
            var ra = a.Step([Math.Sin(k)]);
            var rb = b.Step([Math.Sin(k)]);
            Assert.Equal(ra.Observation, rb.Observation);
            Assert.Equal(ra.Reward, rb.Reward);
        }
        Assert.Throws<ArgumentException>(() => b.SetState(new double[3], v));
    }
}
