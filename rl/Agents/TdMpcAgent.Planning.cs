using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;

namespace DiffTori.Rl.Agents;

public sealed partial class TdMpcAgent
{
    /// <summary>A batch's plan: mean [B·H·m] and action [B·m], rounded to the model's dtype (as tensors of it would hold them).</summary>
    private readonly record struct BatchPlan(double[] Mean, double[] Action);

    /// <summary>
    /// TD-MPC's MPPI/CEM for B environments at once. trajopt's <see cref="SamplingPlanner"/> draws the
    /// Gaussian samples of a whole batch from one generator, so environment b's samples would depend on the
    /// batch; here each environment draws its own from its stream and the planner receives them as given
    /// candidates (Samples = 0), one refit per call. Iteration k: B·Samples sequences around the current
    /// means (clamped to the box), plus the π rollouts, scored in one batched value pass; SamplingPlanner
    /// keeps the top Elites and refits mean and std (MPPI or CEM weights, momentum, std clamp). Draws, their
    /// order and the arithmetic are those of one SamplingPlanner.Plan call with B = 1 and the environment's
    /// generator, so a single environment plans exactly as it did before batching.
    /// </summary>
    /// <param name="initialMean">[B·H·m] warm starts.</param>
    private BatchPlan Plan(Var z0, double[] initialMean, int horizon, ReadOnlySpan<int> envs, long envStep, bool eval)
    {
        int[] slots = envs.ToArray();
        int batch = slots.Length, length = horizon * ActionDim, samples = _cfg.PlanSamples;
        var policy = PolicyRollouts(z0, horizon, envs);
        int policyCount = policy is null ? 0 : policy.Length / (batch * length);
        int perEnv = samples + policyCount;
        var options = new SamplingOptions
        {
            Method = _cfg.Planner == "cem" ? SamplingMethod.Cem : SamplingMethod.Mppi,
            Iterations = 1, Samples = 0, Elites = _cfg.PlanElites,
            Temperature = _cfg.Temperature, Momentum = _cfg.Momentum, MaxStd = _cfg.MaxStd,
            MinStd = ExplorationStd(envStep), Explore = false,
        };
        var dtype = z0.DType;
        var device = z0.Device;
        var candidates = new double[batch * perEnv * length];
        var mean = (double[])initialMean.Clone();
        var std = new double[batch * length];
        Array.Fill(std, options.MaxStd);
        double[]? values = null;
        bool keepValues = false;
        Tensor Value(Tensor actions)
        {
            // Each pass's intermediates go back to the pool before the next iteration (B·(samples + P) rows
            // of every layer, for every planning step); the returned view keeps its own buffer alive.
            using var pass = Autograd.Scope();
            using var cast = actions.DType == dtype ? null : actions.Cast(dtype);
            var v = EstimateValue(z0, cast ?? actions, slots);
            if (keepValues) values = v.ToDoubleArray();
            return v;
        }

        for (int it = 0; it < _cfg.PlanIterations; it++)
        {
            for (int b = 0; b < batch; b++)
            {
                var rng = Streams[slots[b]];
                for (int s = 0; s < samples; s++)
                    for (int i = 0; i < length; i++)
                        candidates[(b * perEnv + s) * length + i] =
                            Math.Clamp(mean[b * length + i] + std[b * length + i] * rng.NextNormal(), options.Lower, options.Upper);
                if (policy is not null)
                    Array.Copy(policy, b * policyCount * length, candidates, (b * perEnv + samples) * length, policyCount * length);
            }
            keepValues = !eval && it == _cfg.PlanIterations - 1; // the exploratory action picks among the last elites
            using var meanTensor = Tensor.FromDoubles(mean, new Shape(batch, horizon, ActionDim), DType.Float64, device);
            using var candidateTensor = Tensor.FromDoubles(candidates, new Shape(batch, perEnv, horizon, ActionDim), DType.Float64, device);
            // With Samples = 0 and Explore = false the planner draws nothing from the generator it is given.
            var refit = SamplingPlanner.Plan(Value, meanTensor, candidateTensor, Rng, options);
            mean = refit.Mean.ToDoubleArray();
            std = refit.Std.ToDoubleArray();
            refit.Mean.Dispose(); refit.Std.Dispose(); refit.Action.Dispose();
        }

        var action = new double[batch * ActionDim];
        for (int b = 0; b < batch; b++)
        {
            if (eval) { Array.Copy(mean, b * length, action, b * ActionDim, ActionDim); continue; }
            int pick = PickElite(values!.AsSpan(b * perEnv, perEnv), options, Streams[slots[b]]);
            var rng = Streams[slots[b]];
            for (int i = 0; i < ActionDim; i++)
                action[b * ActionDim + i] = Math.Clamp(
                    candidates[(b * perEnv + pick) * length + i] + std[b * length + i] * rng.NextNormal(), options.Lower, options.Upper);
        }
        return new BatchPlan(RoundTo(dtype, mean), RoundTo(dtype, action));
    }

    /// <summary>
    /// TD-MPC's exploratory choice (as SamplingPlanner makes it): rank the candidates by value, weight the
    /// top Elites (MPPI: exp(temperature·(v − max)); CEM: equally), and draw one with probability ∝ weight.
    /// </summary>
    private static int PickElite(ReadOnlySpan<double> values, SamplingOptions options, RandomGenerator rng)
    {
        var order = new int[values.Length];
        var keys = new double[values.Length];
        for (int s = 0; s < values.Length; s++) { order[s] = s; keys[s] = -values[s]; }
        Array.Sort(keys, order);
        double max = values[order[0]], total = 0;
        var weights = new double[options.Elites];
        for (int e = 0; e < options.Elites; e++)
        {
            weights[e] = options.Method == SamplingMethod.Mppi ? Math.Exp(options.Temperature * (values[order[e]] - max)) : 1;
            total += weights[e];
        }
        double r = rng.NextDouble(), accumulated = 0;
        for (int e = 0; e < options.Elites; e++)
        {
            accumulated += weights[e] / total;
            if (r <= accumulated) return order[e];
        }
        return order[0];
    }

    /// <summary>The values as a tensor of dtype would hold them.</summary>
    private static double[] RoundTo(DType dtype, double[] values)
    {
        if (dtype == DType.Float32)
            for (int i = 0; i < values.Length; i++) values[i] = (float)values[i];
        return values;
    }
}
