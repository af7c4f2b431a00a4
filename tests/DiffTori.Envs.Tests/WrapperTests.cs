using DiffTori.Envs.Wrappers;

namespace DiffTori.Envs.Tests;

public class WrapperTests
{
    [Fact]
    public void Action_repeat_sums_rewards_and_stops_at_episode_end()
    {
        var env = new ActionRepeat(new CountingEnv(length: 10), 4);
        Assert.Equal(3, env.MaxEpisodeSteps);
        env.Reset(0);
        var r = env.Step([0.5]);
        Assert.Equal(1 + 2 + 3 + 4, r.Reward);
        Assert.Equal(4, r.Observation[1]);
        r = env.Step([0.5]);
        Assert.Equal(5 + 6 + 7 + 8, r.Reward);
        r = env.Step([0.5]);
        Assert.Equal(9 + 10, r.Reward); // ended after two of four repeats
        Assert.True(r.Truncated);
        Assert.Throws<ArgumentException>(() => new ActionRepeat(new CountingEnv(), 0));
    }

    [Fact]
    public void Action_repeat_on_a_real_task_equals_repeating_by_hand()
    {
        using var wrapped = EnvRegistry.MakeForTraining("cartpole-swingup");
        using var raw = EnvRegistry.Make("cartpole-swingup");
        Assert.Equal(raw.Reset(9), wrapped.Reset(9));
        int agentSteps = 0;
        StepResult w;
        do
        {
            double a = Math.Sin(0.4 * agentSteps);
            w = wrapped.Step([a]);
            double sum = 0;
            StepResult r = default;
            for (int k = 0; k < 8; k++)
            {
                r = raw.Step([a]);
                sum += r.Reward;
            }
            Assert.Equal(sum, w.Reward, 12);
            Assert.Equal(r.Observation, w.Observation);
            agentSteps++;
        } while (!w.Done);
        Assert.Equal(125, agentSteps);
        Assert.Equal(125, EnvWrapper.Find<EpisodeStatistics>(wrapped)!.LastEpisode!.Value.Length);
    }

    [Fact]
    public void Time_limit_truncates_and_passes_earlier_ends_through()
    {
        var env = new TimeLimit(new CountingEnv(length: 10), 3);
        env.Reset(0);
        Assert.False(env.Step([0.0]).Done);
        Assert.False(env.Step([0.0]).Done);
        var r = env.Step([0.0]);
        Assert.True(r.Truncated);
        env.Reset(0);
        Assert.False(env.Step([0.0]).Done); // counter restarts on reset
        var terminal = new TimeLimit(new CountingEnv(length: 2, terminates: true), 5);
        terminal.Reset(0);
        terminal.Step([0.0]);
        r = terminal.Step([0.0]);
        Assert.True(r.Terminated && !r.Truncated);
    }

    [Fact]
    public void Frame_stack_keeps_the_last_frames_oldest_first()
    {
        var env = new FrameStack(new CountingEnv(), 3);
        Assert.Equal(9, env.ObservationSpace.Dimension);
        Assert.Equal([7, 0, 0, 7, 0, 0, 7, 0, 0], env.Reset(7));
        env.Step([0.1]);
        var r = env.Step([0.2]);
        Assert.Equal([7, 0, 0, 7, 1, 0.1, 7, 2, 0.2], r.Observation);
        r = env.Step([0.3]);
        Assert.Equal([7, 1, 0.1, 7, 2, 0.2, 7, 3, 0.3], r.Observation);
    }

    [Fact]
    public void Normalization_matches_sample_statistics_and_can_be_frozen()
    {
        var env = new NormalizeObservation(new CountingEnv(length: 100), clip: 100);
        var seen = new List<double[]> { (double[])env.Inner.Reset(3).Clone() };
        env.Reset(3);
        double[] last = [];
        for (int k = 0; k < 5; k++)
        {
            var r = env.Step([0.1 * k]);
            last = r.Observation;
            seen.Add([3, k + 1, 0.1 * k]);
        }
        for (int i = 0; i < 3; i++)
        {
            double mean = seen.Average(x => x[i]);
            double variance = seen.Average(x => (x[i] - mean) * (x[i] - mean));
            Assert.Equal(mean, env.Statistics.Mean[i], 12);
            Assert.Equal(variance, env.Statistics.Variance(i), 12);
            Assert.Equal((seen[^1][i] - mean) / Math.Sqrt(variance + 1e-8), last[i], 6);
        }
        env.Frozen = true;
        long count = env.Statistics.Count;
        env.Step([0.0]);
        Assert.Equal(count, env.Statistics.Count);
        var clipped = new NormalizeObservation(new CountingEnv(length: 100), clip: 0.5);
        clipped.Reset(0);
        for (int k = 0; k < 3; k++) clipped.Step([0.0]);
        Assert.All(clipped.Step([1.0]).Observation, x => Assert.InRange(x, -0.5, 0.5));
    }

    [Fact]
    public void Episode_statistics_record_return_and_length()
    {
        var env = new EpisodeStatistics(new ActionRepeat(new CountingEnv(length: 5), 2));
        env.Reset(0);
        while (!env.Step([0.0]).Done) { }
        Assert.Equal(new EpisodeRecord(15, 3), env.LastEpisode);
        env.Reset(1);
        env.Step([0.0]);
        Assert.Equal(3, env.CurrentReturn);
        Assert.Equal(1, env.CurrentLength);
        Assert.Single(env.Completed);
        Assert.NotNull(EnvWrapper.Find<ActionRepeat>(env));
        Assert.NotNull(EnvWrapper.Find<CountingEnv>(env));
        Assert.Null(EnvWrapper.Find<FrameStack>(env));
    }
}
