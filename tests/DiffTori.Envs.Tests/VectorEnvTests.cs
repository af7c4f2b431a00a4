using DiffTori.Engine;
using DiffTori.Envs.Vector;

namespace DiffTori.Envs.Tests;

public class VectorEnvTests
{
    [Fact]
    public void Copies_match_single_envs_with_seed_plus_index()
    {
        using var vec = VectorEnv.Make("cartpole-swingup", 5, autoReset: false);
        var obs = vec.Reset(100);
        var singles = Enumerable.Range(0, 5).Select(_ => EnvRegistry.Make("cartpole-swingup")).ToArray();
        for (int i = 0; i < 5; i++) Assert.Equal(singles[i].Reset(100 + i), obs.AsSpan(i * 5, 5).ToArray());
        var actions = new double[5];
        for (int k = 0; k < 20; k++)
        {
            for (int i = 0; i < 5; i++) actions[i] = Math.Sin(k + i);
            vec.Step(actions);
            for (int i = 0; i < 5; i++)
            {
                var r = singles[i].Step([actions[i]]);
                Assert.Equal(r.Observation, vec.Observations.AsSpan(i * 5, 5).ToArray());
                Assert.Equal(r.Reward, vec.Rewards[i]);
            }
        }
    }

    [Fact]
    public void Parallel_and_serial_stepping_agree()
    {
        double[] Run(bool parallel)
        {
            using var vec = VectorEnv.Make("acrobot-swingup", 7, mode: parallel ? VectorEnv.StepMode.Parallel : VectorEnv.StepMode.Serial);
            vec.Reset(3);
            var actions = new double[7];
            for (int k = 0; k < 30; k++)
            {
                for (int i = 0; i < 7; i++) actions[i] = Math.Cos(0.7 * k + i);
                vec.Step(actions);
            }
            return vec.Observations.Concat(vec.Rewards).ToArray();
        }
        Assert.Equal(Run(false), Run(true));
    }

    [Fact]
    public void Auto_reset_keeps_the_final_observation_and_restarts_deterministically()
    {
        using var vec = new VectorEnv(_ => new CountingEnv(length: 3), 2);
        vec.Reset(10);
        vec.Step([0.1, 0.2]);
        vec.Step([0.1, 0.2]);
        Assert.False(vec.WasReset[0]);
        vec.Step([0.3, 0.4]);
        Assert.True(vec.Truncated[0] && vec.WasReset[0] && vec.WasReset[1]);
        Assert.Equal([10, 3, 0.3, 11, 3, 0.4], vec.FinalObservations);
        Assert.Equal([VectorEnv.AutoResetSeed(10, 0, 1), 0, 0, VectorEnv.AutoResetSeed(10, 1, 1), 0, 0], vec.Observations);
        Assert.NotEqual(VectorEnv.AutoResetSeed(10, 0, 1), VectorEnv.AutoResetSeed(10, 1, 1));
        vec.Step([0.0, 0.0]);
        Assert.False(vec.WasReset[0]);
    }

    [Fact]
    public void Auto_mode_goes_parallel_only_for_slow_tasks()
    {
        using var cheap = VectorEnv.Make("pendulum-swingup", 4);
        cheap.Reset(0);
        for (int k = 0; k < 10; k++) cheap.Step(new double[4]);
        Assert.False(cheap.UsesParallel);

        using var slow = new VectorEnv(_ => new SlowEnv(), 2);
        slow.Reset(0);
        for (int k = 0; k < 10; k++) slow.Step(new double[2]);
        Assert.Equal(Environment.ProcessorCount > 1, slow.UsesParallel);
    }

    sealed class SlowEnv() : Wrappers.EnvWrapper(new CountingEnv(length: 1000))
    {
        public override StepResult Step(ReadOnlySpan<double> action)
        {
            Thread.Sleep(1);
            return Inner.Step(action);
        }
    }

    [Fact]
    public void Bad_batches_are_rejected_with_shapes_and_index()
    {
        using var vec = VectorEnv.Make("reacher-easy", 3);
        Assert.Throws<InvalidOperationException>(() => vec.Step(new double[6]));
        vec.Reset(0);
        var e = Assert.Throws<ArgumentException>(() => vec.Step(new double[5]));
        Assert.Contains("3 × 2 = 6", e.Message);
        var actions = new double[6];
        actions[3] = double.NaN;
        e = Assert.Throws<ArgumentException>(() => vec.Step(actions));
        Assert.Contains("copy 1", e.Message);
    }

    [Fact]
    public void Observations_become_an_N_by_obs_tensor()
    {
        using var vec = VectorEnv.Make("point_mass-easy", 4);
        vec.Reset(0);
        using var t = vec.ObservationTensor();
        Assert.Equal(new Shape(4, 4), t.Shape);
        var values = t.ToDoubleArray();
        for (int i = 0; i < 16; i++) Assert.Equal((float)vec.Observations[i], (float)values[i]);
    }
}
