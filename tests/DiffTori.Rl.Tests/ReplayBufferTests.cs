using DiffTori.Engine;
using DiffTori.Rl.Replay;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Rl.Tests;

public class ReplayBufferTests
{
    [Fact]
    public void SumTree_FindFollowsCumulativeWeights()
    {
        var tree = new SumTree(5);
        double[] w = [0.5, 0, 2, 1, 0.25];
        for (int i = 0; i < w.Length; i++) tree.Set(i, w[i]);
        Assert.Equal(3.75, tree.Total, 12);
        // Naive: index i owns [Σ_{j<i} w_j, Σ_{j≤i} w_j).
        double[] masses = [0, 0.49, 0.5, 2.49, 2.5, 3.49, 3.5, 3.7499];
        foreach (var m in masses)
        {
            int naive = 0; double c = 0;
            for (int i = 0; i < w.Length; i++) { if (m < c + w[i]) { naive = i; break; } c += w[i]; }
            Assert.Equal(naive, tree.Find(m));
        }
    }

    [Fact]
    public void SumTree_TotalsMatchNaiveSums_Property()
    {
        var gen = Gen.ArrayOf(Gen.Choose(0, 1000).Select(x => x / 100.0)).Where(a => a.Length > 0);
        Prop.ForAll(gen.ToArbitrary(), weights =>
        {
            var tree = new SumTree(weights.Length);
            for (int i = 0; i < weights.Length; i++) tree.Set(i, weights[i]);
            double naive = weights.Sum();
            return Math.Abs(tree.Total - naive) < 1e-9 * Math.Max(1, naive);
        }).QuickCheckThrowOnFailure();
    }

    private static ReplayBuffer Filled(int window, bool prioritized, int episodes = 3, int length = 6)
    {
        var buffer = new ReplayBuffer(2, 1, 100, window, prioritized);
        for (int e = 0; e < episodes; e++)
        {
            var obs = new List<double[]>(); var act = new List<double[]>(); var rew = new List<double>();
            for (int t = 0; t <= length; t++) obs.Add([e, t]);
            for (int t = 0; t < length; t++) { act.Add([0.1 * t]); rew.Add(e * 10 + t); }
            buffer.AddEpisode(obs, act, rew, terminated: false);
        }
        return buffer;
    }

    [Fact]
    public void Windows_StayInsideOneEpisode_AndAreConsecutive()
    {
        var buffer = Filled(window: 3, prioritized: false);
        Assert.Equal(3 * (6 - 3 + 1), buffer.ValidStarts);
        var batch = buffer.Sample(200, new RandomGenerator(3));
        int b = batch.BatchSize;
        for (int i = 0; i < b; i++)
        {
            double episode = batch.Observations[i * 2], t0 = batch.Observations[i * 2 + 1];
            for (int t = 0; t <= 3; t++)
            {
                Assert.Equal(episode, batch.Observations[(t * b + i) * 2]);
                Assert.Equal(t0 + t, batch.Observations[(t * b + i) * 2 + 1]);
            }
            for (int t = 0; t < 3; t++) Assert.Equal(episode * 10 + t0 + t, batch.Rewards[t * b + i]);
            Assert.Equal(1.0, batch.Weights[i]);
        }
    }

    [Fact]
    public void PrioritizedSampling_MatchesProportions_AndWeights()
    {
        var buffer = Filled(window: 1, prioritized: true, episodes: 1, length: 4);
        double[] raw = [1, 2, 3, 4];
        buffer.UpdatePriorities([0, 1, 2, 3], raw);
        var expected = raw.Select(p => Math.Pow(p + 1e-6, 0.6)).ToArray();
        double sum = expected.Sum();
        var counts = new int[4];
        var batch = buffer.Sample(40000, new RandomGenerator(11));
        foreach (var index in batch.Indices) counts[index]++;
        for (int i = 0; i < 4; i++) Assert.InRange(counts[i] / 40000.0 - expected[i] / sum, -0.01, 0.01); // ~5 standard errors
        // Importance weights: (N·P(i))^-β divided by the batch maximum (the rarest index has weight 1).
        double wMax = Math.Pow(4 * expected[0] / sum, -0.4);
        for (int k = 0; k < 100; k++)
        {
            int i = batch.Indices[k];
            Assert.Equal(Math.Pow(4 * expected[i] / sum, -0.4) / wMax, batch.Weights[k], 9);
        }
    }

    [Fact]
    public void SaveLoad_RoundTripsEverything()
    {
        var buffer = Filled(window: 2, prioritized: true);
        buffer.UpdatePriorities([0, 5, 7], [3, 0.5, 9]);
        string path = Path.Combine(Path.GetTempPath(), $"rb_{Guid.NewGuid():N}.bin");
        try
        {
            buffer.Save(path);
            var copy = new ReplayBuffer(2, 1, 100, 2, true);
            copy.Load(path);
            Assert.Equal(buffer.Count, copy.Count);
            Assert.Equal(buffer.Position, copy.Position);
            Assert.Equal(buffer.Tree.Leaves(), copy.Tree.Leaves());
            var a = buffer.Sample(64, new RandomGenerator(5));
            var b = copy.Sample(64, new RandomGenerator(5));
            Assert.Equal(a.Indices, b.Indices);
            Assert.Equal(a.Observations, b.Observations);
            Assert.Equal(a.Weights, b.Weights);
        }
        finally { File.Delete(path); }
    }
}
