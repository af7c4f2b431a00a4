using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;

namespace DiffTori.Rl.Agents;

public sealed partial class TdMpcAgent
{
    /// <summary>A batch's plan: mean [B·H·m] and action [B·m], rounded to the model's dtype (as tensors of it would hold them).</summary>
    private readonly record struct BatchPlan(double[] Mean, double[] Action);

    /// <summary>
    /// TD-MPC's MPPI/CEM for B environments in one <see cref="SamplingPlanner"/> call: environment b draws its
    /// Gaussian samples and its exploratory pick and noise from its own stream (the per-example generator
    /// overload), so what it draws never depends on the batch, and a single environment plans exactly as one
    /// SamplingPlanner.Plan call with the agent's generator. Each iteration scores B·(samples + π rollouts)
    /// sequences in one batched value pass. Eval acts on the mean's first step.
    /// </summary>
    /// <param name="initialMean">[B·H·m] warm starts.</param>
    private BatchPlan Plan(Var z0, double[] initialMean, int horizon, ReadOnlySpan<int> envs, long envStep, bool eval)
    {
        int[] slots = envs.ToArray();
        int batch = slots.Length;
        var policy = PolicyRollouts(z0, horizon, envs);
        var options = new SamplingOptions
        {
            Method = _cfg.Planner == "cem" ? SamplingMethod.Cem : SamplingMethod.Mppi,
            Iterations = _cfg.PlanIterations, Samples = _cfg.PlanSamples, Elites = _cfg.PlanElites,
            Temperature = _cfg.Temperature, Momentum = _cfg.Momentum, MaxStd = _cfg.MaxStd,
            MinStd = ExplorationStd(envStep), Explore = !eval,
        };
        var dtype = z0.DType;
        var device = z0.Device;
        Tensor Value(Tensor actions)
        {
            // Each pass's intermediates go back to the pool before the next iteration (B·(samples + P) rows
            // of every layer, for every planning step); the returned view keeps its own buffer alive.
            using var pass = Autograd.Scope();
            using var cast = actions.DType == dtype ? null : actions.Cast(dtype);
            return EstimateValue(z0, cast ?? actions, slots);
        }

        var rngs = new RandomGenerator[batch];
        for (int b = 0; b < batch; b++) rngs[b] = Streams[slots[b]];
        // The planner works in float64 (mean, std and candidates); only the value pass runs in the model's dtype.
        var shape = new Shape(batch, horizon, ActionDim);
        using var meanTensor = Tensor.FromDoubles(initialMean, shape, DType.Float64, device);
        using var policyTensor = policy is null ? null
            : Tensor.FromDoubles(policy, new Shape(batch, policy.Length / (batch * horizon * ActionDim), horizon, ActionDim), DType.Float64, device);
        var plan = SamplingPlanner.Plan(Value, meanTensor, policyTensor, rngs, options);
        using (plan.Mean) using (plan.Std) using (plan.Action)
            return new BatchPlan(RoundTo(dtype, plan.Mean.ToDoubleArray()), RoundTo(dtype, plan.Action.ToDoubleArray()));
    }

    /// <summary>The values as a tensor of dtype would hold them.</summary>
    private static double[] RoundTo(DType dtype, double[] values)
    {
        if (dtype == DType.Float32)
            for (int i = 0; i < values.Length; i++) values[i] = (float)values[i];
        return values;
    }
}
