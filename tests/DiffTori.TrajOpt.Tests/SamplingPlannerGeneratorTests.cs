using DiffTori.Engine;
using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

/// <summary>The per-example-generator overload of SamplingPlanner.Plan: example b depends only on rngs[b].</summary>
public class SamplingPlannerGeneratorTests
{
    private const int H = 3, m = 2, L = H * m;

    /// <summary>A value that differs per example (each has its own target) and treats rows independently.</summary>
    private static TrajectoryValueFn Value(double[] targets, int examples) => a =>
    {
        var d = a.ToDoubleArray();
        int rows = a.Shape[0], perExample = rows / examples;
        var v = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            int b = r / perExample;
            for (int i = 0; i < L; i++) { double e = d[r * L + i] - targets[b * L + i]; v[r] -= e * e * (1 + 0.1 * i); }
        }
        return Tensor.FromDoubles(v, new Shape(rows), DType.Float64);
    };

    private static double[] Slice(double[] values, int b, int length) => values.AsSpan(b * length, length).ToArray();

    [Theory]
    [InlineData(SamplingMethod.Mppi, true, 2)]
    [InlineData(SamplingMethod.Mppi, false, 0)]
    [InlineData(SamplingMethod.Cem, true, 0)]
    [InlineData(SamplingMethod.Cem, false, 2)]
    public void BatchEqualsSeparateSingleExampleCalls(SamplingMethod method, bool explore, int policyCount)
    {
        const int B = 3;
        var source = new Random(5);
        double[] Uniform(int n, double scale) => Enumerable.Range(0, n).Select(_ => scale * (2 * source.NextDouble() - 1)).ToArray();
        var targets = Uniform(B * L, 0.8);
        var initial = Uniform(B * L, 0.3);
        var policy = policyCount == 0 ? null : Uniform(B * policyCount * L, 0.9);
        var options = new SamplingOptions
        {
            Method = method, Iterations = 3, Samples = 24, Elites = 6, Temperature = 1.5, Momentum = 0.2,
            MinStd = 0.1, MaxStd = 1.5, Explore = explore,
        };
        // Different seeds and different starting counters, so a generator mix-up cannot go unnoticed.
        RandomGenerator[] Generators() => [new RandomGenerator(11) { Counter = 7 }, new RandomGenerator(12), new RandomGenerator(13) { Counter = 100 }];

        var batchRngs = Generators();
        using var batchMean = Tensor.FromDoubles(initial, new Shape(B, H, m), DType.Float64);
        using var batchPolicy = policy is null ? null : Tensor.FromDoubles(policy, new Shape(B, policyCount, H, m), DType.Float64);
        var batch = SamplingPlanner.Plan(Value(targets, B), batchMean, batchPolicy, batchRngs, options);
        var mean = batch.Mean.ToDoubleArray();
        var std = batch.Std.ToDoubleArray();
        var action = batch.Action.ToDoubleArray();

        var singleRngs = Generators();
        for (int b = 0; b < B; b++)
        {
            using var oneMean = Tensor.FromDoubles(Slice(initial, b, L), new Shape(1, H, m), DType.Float64);
            using var onePolicy = policy is null ? null : Tensor.FromDoubles(Slice(policy, b, policyCount * L), new Shape(1, policyCount, H, m), DType.Float64);
            var single = SamplingPlanner.Plan(Value(Slice(targets, b, L), 1), oneMean, onePolicy, singleRngs[b], options);
            Assert.Equal(single.Mean.ToDoubleArray(), Slice(mean, b, L));
            Assert.Equal(single.Std.ToDoubleArray(), Slice(std, b, L));
            Assert.Equal(single.Action.ToDoubleArray(), Slice(action, b, m));
            Assert.Equal(single.BestValue[0], batch.BestValue[b]);
            Assert.Equal(singleRngs[b].Counter, batchRngs[b].Counter);
        }
        // Each example drew its samples (and, exploring, one pick plus m noise values) from its own generator.
        int draws = options.Iterations * options.Samples * L + (explore ? 1 + m : 0);
        Assert.Equal(7UL + (ulong)draws, batchRngs[0].Counter);
        Assert.Equal((ulong)draws, batchRngs[1].Counter);
        Assert.Equal(100UL + (ulong)draws, batchRngs[2].Counter);
    }

    /// <summary>The single-generator overload is the per-example one with that generator repeated B times.</summary>
    [Fact]
    public void SharedGeneratorEqualsRepeatedGenerator()
    {
        const int B = 2;
        var targets = new[] { 0.1, -0.4, 0.6, 0.2, -0.7, 0.3, -0.2, 0.5, 0.0, -0.6, 0.4, 0.8 };
        var options = new SamplingOptions { Iterations = 2, Samples = 16, Elites = 4, Explore = true };
        using var initial = Tensor.Zeros(new Shape(B, H, m), DType.Float64);
        var shared = new RandomGenerator(21);
        var one = SamplingPlanner.Plan(Value(targets, B), initial, null, shared, options);
        var repeatedRng = new RandomGenerator(21);
        var repeated = SamplingPlanner.Plan(Value(targets, B), initial, null, [repeatedRng, repeatedRng], options);
        Assert.Equal(one.Mean.ToDoubleArray(), repeated.Mean.ToDoubleArray());
        Assert.Equal(one.Std.ToDoubleArray(), repeated.Std.ToDoubleArray());
        Assert.Equal(one.Action.ToDoubleArray(), repeated.Action.ToDoubleArray());
        Assert.Equal(shared.Counter, repeatedRng.Counter);
        Assert.Equal((ulong)(B * (2 * 16 * L + 1 + m)), shared.Counter);
    }

    [Fact]
    public void WrongGeneratorCountIsRejected()
    {
        using var initial = Tensor.Zeros(new Shape(2, H, m), DType.Float64);
        var e = Assert.Throws<ArgumentException>(() =>
            SamplingPlanner.Plan(Value(new double[2 * L], 2), initial, null, [new RandomGenerator(1)], new SamplingOptions { Samples = 8, Elites = 2 }));
        Assert.Contains("1 generators for 2 examples", e.Message);
    }
}
