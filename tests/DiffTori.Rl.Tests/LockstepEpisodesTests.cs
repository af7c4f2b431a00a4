using DiffTori.Engine;
using DiffTori.Envs;
using DiffTori.Envs.Vector;
using DiffTori.Rl.Replay;
using DiffTori.Rl.Training;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Rl.Tests;

/// <summary>
/// A task whose observations name where they come from: [copy, seed, t]. The episode length depends on the
/// seed (so copies finish at different rounds), even seeds end by termination and odd ones by truncation,
/// and the reward is 100·copy + t + action[0].
/// </summary>
internal sealed class LabelledEnv(int copy, int minLength = 2, int spread = 6) : IEnv
{
    private int _seed, _t, _length;
    private bool _live;

    public string Name => "labelled";
    public BoxSpace ObservationSpace { get; } = BoxSpace.Unbounded(3);
    public BoxSpace ActionSpace { get; } = BoxSpace.Symmetric(1);
    public int MaxEpisodeSteps => minLength + spread;

    public static int LengthOf(int seed, int minLength = 2, int spread = 6) => minLength + (int)((uint)seed % (uint)spread);

    public double[] Reset(int seed)
    {
        (_seed, _t, _length, _live) = (seed, 0, LengthOf(seed, minLength, spread), true);
        return [copy, seed, 0];
    }

    public StepResult Step(ReadOnlySpan<double> action)
    {
        if (!_live) throw new InvalidOperationException("LabelledEnv: Step after the episode ended");
        _t++;
        bool done = _t == _length;
        _live = !done;
        return new StepResult([copy, _seed, _t], 100 * copy + _t + action[0], done && _seed % 2 == 0, done && _seed % 2 != 0);
    }

    public void Dispose() { }
}

public class LockstepEpisodesTests
{
    /// <summary>The action for an observation [copy, seed, t]: a function of the observation alone.</summary>
    private static double Policy(double copy, double seed, double t) => 0.01 * copy - 0.001 * t + 0.0001 * (seed % 7);

    private static EpisodeRecord[] RunLockstep(int copies, int[] seeds, List<int[]>? batches = null)
    {
        using var envs = new VectorEnv(i => new LabelledEnv(i), copies, autoReset: true);
        return LockstepEpisodes.Run(envs, seeds, (obs, active) =>
        {
            batches?.Add(active);
            var actions = new double[active.Length];
            for (int k = 0; k < active.Length; k++) actions[k] = Policy(obs[3 * k], obs[3 * k + 1], obs[3 * k + 2]);
            return actions;
        }, record: true);
    }

    [Fact]
    public void EachCopyRunsExactlyItsOwnEpisode_AndFinishedCopiesLeaveTheBatch()
    {
        int[] seeds = [10, 3, 7, 4]; // lengths 6, 5, 3, 6
        var batches = new List<int[]>();
        var episodes = RunLockstep(4, seeds, batches);
        Assert.Equal(6, batches.Count);
        Assert.Equal(new[] { 0, 1, 2, 3 }, batches[0]);
        Assert.Equal(new[] { 0, 1, 3 }, batches[3]); // copy 2 finished after 3 steps
        Assert.Equal(new[] { 0, 3 }, batches[5]);    // copy 1 after 5
        for (int i = 0; i < 4; i++)
        {
            // The same episode run alone, by hand.
            var env = new LabelledEnv(i);
            var obs = env.Reset(seeds[i]);
            var e = episodes[i];
            Assert.Equal(LabelledEnv.LengthOf(seeds[i]), e.Length);
            Assert.Equal(e.Length + 1, e.Observations.Count);
            Assert.Equal(obs, e.Observations[0]);
            double total = 0;
            for (int t = 0; t < e.Length; t++)
            {
                double a = Policy(obs[0], obs[1], obs[2]);
                Assert.Equal(new[] { a }, e.Actions[t]);
                var r = env.Step([a]);
                Assert.Equal(r.Reward, e.Rewards[t]);
                Assert.Equal(r.Observation, e.Observations[t + 1]);
                total += r.Reward;
                obs = r.Observation;
                if (t == e.Length - 1) Assert.Equal(r.Terminated, e.Terminated);
            }
            Assert.Equal(total, e.Return, 12);
        }
    }

    [Fact]
    public void SeedsThatAreNotConsecutive_AreStillUsedAsGiven()
    {
        var episodes = RunLockstep(3, [int.MaxValue - 1, int.MaxValue, 0]); // the vector env's seed + i would wrap around
        Assert.Equal(int.MaxValue - 1.0, episodes[0].Observations[0][1]);
        Assert.Equal(int.MaxValue, episodes[1].Observations[0][1]);
        Assert.Equal(0.0, episodes[2].Observations[0][1]);
    }

    /// <summary>
    /// The trainer's way of filling the replay buffer with N environments (<see cref="Trainer.Store"/> of each
    /// batch of lockstep episodes), into a small ring that wraps: every window drawn holds consecutive steps of
    /// one episode of one copy, for random episode lengths, copy counts, windows and capacities.
    /// </summary>
    [Fact]
    public void ReplayWindows_NeverCrossEpisodesOrEnvironments_Property()
    {
        var cases = from copies in Gen.Choose(1, 4)
                    from batches in Gen.Choose(1, 5)
                    from window in Gen.Choose(1, 4)
                    from capacity in Gen.Choose(8, 60)
                    from seed in Gen.Choose(0, 10_000)
                    select (copies, batches, window, capacity, seed);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var buffer = new ReplayBuffer(3, 1, c.capacity, c.window, prioritized: true);
            for (int batch = 0; batch < c.batches; batch++)
            {
                var seeds = Enumerable.Range(0, c.copies).Select(i => c.seed + batch * c.copies + i).ToArray();
                Trainer.Store(buffer, RunLockstep(c.copies, seeds));
            }
            if (buffer.Tree.Total <= 0) return true; // no episode as long as the window
            var sample = buffer.Sample(64, new RandomGenerator((ulong)c.seed));
            int b = sample.BatchSize;
            for (int i = 0; i < b; i++)
            {
                double copy = sample.Observations[i * 3], episodeSeed = sample.Observations[i * 3 + 1], t0 = sample.Observations[i * 3 + 2];
                for (int t = 0; t <= c.window; t++)
                {
                    int at = (t * b + i) * 3;
                    if (sample.Observations[at] != copy || sample.Observations[at + 1] != episodeSeed || sample.Observations[at + 2] != t0 + t) return false;
                }
                for (int t = 0; t < c.window; t++)
                    if (Math.Abs(sample.Rewards[t * b + i] - (100 * copy + t0 + t + 1 + Policy(copy, episodeSeed, t0 + t))) > 1e-3) return false;
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }
}
