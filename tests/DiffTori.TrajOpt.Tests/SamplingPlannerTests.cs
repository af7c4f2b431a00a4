using DiffTori.Engine;
using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

public class SamplingPlannerTests
{
    /// <summary>value = −‖a − target_b‖²: both planners must find each example's own target (inside the box).</summary>
    [Theory]
    [InlineData(SamplingMethod.Cem)]
    [InlineData(SamplingMethod.Mppi)]
    public void FindsPerExampleOptimum(SamplingMethod method)
    {
        const int B = 3, H = 4, m = 2, L = H * m;
        var rng = new Random(1);
        var target = new double[B * L];
        for (int i = 0; i < target.Length; i++) target[i] = 1.6 * rng.NextDouble() - 0.8;
        TrajectoryValueFn value = a =>
        {
            var d = a.ToDoubleArray();
            int S = a.Shape[0] / B;
            var v = new double[a.Shape[0]];
            for (int r = 0; r < v.Length; r++)
            {
                int b = r / S;
                double s = 0;
                for (int i = 0; i < L; i++) { double e = d[r * L + i] - target[b * L + i]; s -= e * e; }
                v[r] = s;
            }
            return Tensor.FromDoubles(v, new Shape(v.Length), DType.Float64);
        };
        var plan = SamplingPlanner.Plan(value, Tensor.Zeros(new Shape(B, H, m), DType.Float64), null, new RandomGenerator(3),
            new SamplingOptions { Method = method, Iterations = 20, Samples = 256, Elites = 32, Temperature = 2, Momentum = 0.1 });
        var mean = plan.Mean.ToDoubleArray();
        for (int i = 0; i < mean.Length; i++) Assert.True(Math.Abs(mean[i] - target[i]) < 0.08, $"{method}: mean[{i}] = {mean[i]}, target {target[i]}");
        var act = plan.Action.ToDoubleArray();
        for (int b = 0; b < B; b++) for (int j = 0; j < m; j++) Assert.Equal(mean[b * L + j], act[b * m + j]);
        foreach (var s in plan.Std.ToDoubleArray()) Assert.InRange(s, 0.05, 2);
    }

    /// <summary>A policy sample that is already optimal is kept as the top elite, so the best value is exactly 0.</summary>
    [Fact]
    public void PolicySamplesJoinThePopulation()
    {
        const int B = 2, H = 3, m = 1;
        var target = new[] { 0.3, -0.2, 0.5, -0.6, 0.1, 0.9 };
        TrajectoryValueFn value = a =>
        {
            var d = a.ToDoubleArray();
            int S = a.Shape[0] / B;
            var v = new double[a.Shape[0]];
            for (int r = 0; r < v.Length; r++) for (int i = 0; i < H; i++) { double e = d[r * H + i] - target[(r / S) * H + i]; v[r] -= e * e; }
            return Tensor.FromDoubles(v, new Shape(v.Length), DType.Float64);
        };
        var policy = Tensor.FromDoubles(target, new Shape(B, 1, H, m), DType.Float64);
        var plan = SamplingPlanner.Plan(value, Tensor.Zeros(new Shape(B, H, m), DType.Float64), policy, new RandomGenerator(9),
            new SamplingOptions { Iterations = 1, Samples = 16, Elites = 4 });
        Assert.All(plan.BestValue, v => Assert.Equal(0, v));
    }
}
