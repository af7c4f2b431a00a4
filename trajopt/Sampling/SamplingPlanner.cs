using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>Scores action sequences: actions [R, H, m] → value [R] (higher is better). R = B·(samples + policy samples).</summary>
public delegate Tensor TrajectoryValueFn(Tensor actions);

public enum SamplingMethod
{
    /// <summary>Cross-entropy method: elites weighted equally.</summary>
    Cem,
    /// <summary>MPPI as in TD-MPC: elites weighted by exp(temperature·(value − max)).</summary>
    Mppi,
}

public sealed class SamplingOptions
{
    public SamplingMethod Method { get; init; } = SamplingMethod.Mppi;
    public int Iterations { get; init; } = 6;
    public int Samples { get; init; } = 512;
    public int Elites { get; init; } = 64;
    public double Temperature { get; init; } = 0.5;
    /// <summary>mean ← momentum·mean + (1 − momentum)·elite mean.</summary>
    public double Momentum { get; init; } = 0.1;
    public double MinStd { get; init; } = 0.05;
    public double MaxStd { get; init; } = 2;
    public double Lower { get; init; } = -1;
    public double Upper { get; init; } = 1;
    /// <summary>With false the returned action is the mean's first step; with true it is a score-sampled elite plus std noise (TD-MPC's exploration).</summary>
    public bool Explore { get; init; }
}

/// <summary>A plan: mean and std [B, H, m] of the final distribution, and the action to take [B, m].</summary>
public sealed record SamplingPlan(Tensor Mean, Tensor Std, Tensor Action, double[] BestValue);

/// <summary>
/// TD-MPC's sampling planners, batched: each iteration draws Samples Gaussian sequences per example around
/// the mean (clamped to the box), adds the given policy sequences, scores all in one call, keeps the top
/// Elites, and refits mean/std (CEM: uniform weights; MPPI: softmax with the temperature), std clamped to
/// [MinStd, MaxStd]. The mean warm-starts from the caller (e.g. the previous plan shifted by one step).
/// Example b's random numbers (its Gaussian samples, then its exploratory pick and noise) come from its
/// generator in a fixed order, so with one generator per example an example plans the same whatever else
/// is in the batch.
/// </summary>
public static class SamplingPlanner
{
    /// <summary>Plan with every example drawing from the one generator rng (examples in order).</summary>
    /// <param name="initialMean">[B, H, m]</param>
    /// <param name="policySamples">[B, P, H, m] sequences from the policy π (TD-MPC mixes 5% of them), or null.</param>
    public static SamplingPlan Plan(TrajectoryValueFn value, Tensor initialMean, Tensor? policySamples, RandomGenerator rng, SamplingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (initialMean.Rank != 3) throw new TensorShapeException($"SamplingPlanner.Plan: initialMean must be [B, H, m], got {initialMean.Shape}");
        var shared = new RandomGenerator[initialMean.Shape[0]];
        Array.Fill(shared, rng);
        return Plan(value, initialMean, policySamples, shared, options);
    }

    /// <summary>
    /// Plan with example b drawing only from rngs[b] (length B): the same as B single-example calls, one per
    /// generator, while the value is still computed in one batched call per iteration.
    /// </summary>
    /// <param name="initialMean">[B, H, m]</param>
    /// <param name="policySamples">[B, P, H, m] sequences from the policy π (TD-MPC mixes 5% of them), or null.</param>
    public static SamplingPlan Plan(TrajectoryValueFn value, Tensor initialMean, Tensor? policySamples, IReadOnlyList<RandomGenerator> rngs, SamplingOptions? options = null)
    {
        var o = options ?? new SamplingOptions();
        if (initialMean.Rank != 3) throw new TensorShapeException($"SamplingPlanner.Plan: initialMean must be [B, H, m], got {initialMean.Shape}");
        int B = initialMean.Shape[0], H = initialMean.Shape[1], m = initialMean.Shape[2], L = H * m;
        if (rngs.Count != B) throw new ArgumentException($"SamplingPlanner.Plan: {rngs.Count} generators for {B} examples (one per example expected)");
        for (int b = 0; b < B; b++)
            if (rngs[b] is null) throw new ArgumentException($"SamplingPlanner.Plan: generator {b} of {B} is null");
        int P = policySamples?.Shape[1] ?? 0;
        if (policySamples is not null && policySamples.Shape != new Shape(B, P, H, m))
            throw new TensorShapeException($"SamplingPlanner.Plan: policySamples has shape {policySamples.Shape}, expected [{B}, P, {H}, {m}]");
        int S = o.Samples + P;
        if (o.Elites < 1 || o.Elites > S) throw new ArgumentException($"SamplingPlanner.Plan: elites {o.Elites} must be in [1, {S}]");
        var mean = initialMean.ToDoubleArray();
        var std = new double[B * L];
        Array.Fill(std, o.MaxStd);
        var policy = policySamples?.ToDoubleArray();
        var actions = new double[B * S * L];
        var order = new int[S];
        var keys = new double[S];
        var scores = new double[o.Elites];
        var best = new double[B];
        var eliteIdx = new int[B * o.Elites];
        var eliteScore = new double[B * o.Elites];
        for (int it = 0; it < o.Iterations; it++)
        {
            for (int b = 0; b < B; b++)
            {
                var rng = rngs[b];
                for (int s = 0; s < o.Samples; s++)
                    for (int i = 0; i < L; i++)
                        actions[(b * S + s) * L + i] = Math.Clamp(mean[b * L + i] + std[b * L + i] * rng.NextNormal(), o.Lower, o.Upper);
                if (policy is not null) Array.Copy(policy, b * P * L, actions, (b * S + o.Samples) * L, P * L);
            }
            double[] v;
            using (var t = Tensor.FromDoubles(actions, new Shape(B * S, H, m), initialMean.DType, initialMean.Device))
            using (var vt = value(t))
            {
                if (vt.Length != B * S) throw new TensorShapeException($"SamplingPlanner.Plan: value returned {vt.Shape} for {B * S} sequences");
                v = vt.ToDoubleArray();
            }
            for (int b = 0; b < B; b++)
            {
                var vb = v.AsSpan(b * S, S);
                // Top-k by value: sort indices by −value (S is a few hundred; no comparison delegate).
                for (int s = 0; s < S; s++) { order[s] = s; keys[s] = -vb[s]; }
                Array.Sort(keys, order);
                double max = vb[order[0]];
                best[b] = max;
                double total = 0;
                for (int e = 0; e < o.Elites; e++)
                {
                    scores[e] = o.Method == SamplingMethod.Mppi ? Math.Exp(o.Temperature * (vb[order[e]] - max)) : 1;
                    total += scores[e];
                }
                for (int e = 0; e < o.Elites; e++)
                {
                    scores[e] /= total;
                    eliteIdx[b * o.Elites + e] = order[e];
                    eliteScore[b * o.Elites + e] = scores[e];
                }
                for (int i = 0; i < L; i++)
                {
                    double mu = 0;
                    for (int e = 0; e < o.Elites; e++) mu += scores[e] * actions[(b * S + order[e]) * L + i];
                    double var = 0;
                    for (int e = 0; e < o.Elites; e++) { double d = actions[(b * S + order[e]) * L + i] - mu; var += scores[e] * d * d; }
                    mean[b * L + i] = o.Momentum * mean[b * L + i] + (1 - o.Momentum) * mu;
                    std[b * L + i] = Math.Clamp(Math.Sqrt(var), o.MinStd, o.MaxStd);
                }
            }
        }
        var action = new double[B * m];
        for (int b = 0; b < B; b++)
        {
            if (!o.Explore) { Array.Copy(mean, b * L, action, b * m, m); continue; }
            // Pick an elite with probability ∝ score, then perturb its first step by the final std.
            var rng = rngs[b];
            double r = rng.NextDouble(), acc = 0;
            int pick = eliteIdx[b * o.Elites];
            for (int e = 0; e < o.Elites; e++)
            {
                acc += eliteScore[b * o.Elites + e];
                if (r <= acc) { pick = eliteIdx[b * o.Elites + e]; break; }
            }
            for (int i = 0; i < m; i++)
                action[b * m + i] = Math.Clamp(actions[(b * S + pick) * L + i] + std[b * L + i] * rng.NextNormal(), o.Lower, o.Upper);
        }
        var shape = initialMean.Shape;
        return new SamplingPlan(Tensor.FromDoubles(mean, shape, initialMean.DType, initialMean.Device),
            Tensor.FromDoubles(std, shape, initialMean.DType, initialMean.Device),
            Tensor.FromDoubles(action, new Shape(B, m), initialMean.DType, initialMean.Device), best);
    }
}
