using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.Rl.Replay;

namespace DiffTori.Rl.Agents;

/// <summary>The pieces of one TD-MPC model loss (averaged over the batch, before the 1/H scaling).</summary>
public sealed record TdMpcLossResult(Var WeightedLoss, double Consistency, double Reward, double Value, double Total, double[] Priorities, Var[] Latents);

/// <summary>
/// TD-MPC's model objective over a window of H steps (TD-MPC, Hansen et al. 2022, eq. 8): from
/// z_0 = h(s_0) the model is unrolled with the stored actions; step t adds ρ^t times
///   consistency  mean_j (d(z_t, a_t) − h⁻(s_{t+1}))_j²,
///   reward       (R(z_t, a_t) − r_t)²,
///   value        Σ_i (Q_i(z_t, a_t) − (r_t + γ·min_i Q⁻_i(h⁻(s_{t+1}), π(h⁻(s_{t+1})))))²,
/// where ⁻ marks the target network. The per-sample total c_cons·cons + c_rew·rew + c_val·val is
/// weighted by the importance weights and averaged; priorities are Σ_t ρ^t Σ_i |Q_i − target|.
/// </summary>
public static class TdMpcLoss
{
    public static TdMpcLossResult Compute(Told model, Told target, ReplayBatch batch, RlConfig cfg, double policyNoiseStd, RandomGenerator rng)
    {
        int horizon = batch.Window, b = batch.BatchSize, obsDim = batch.ObservationDim, actDim = batch.ActionDim;
        var device = model.Encoder.Parameters()[0].Device;
        Var Obs(int t) => F.Constant(Tensor.FromArray<float>(batch.Observations.AsSpan(t * b * obsDim, b * obsDim), new Shape(b, obsDim), device));
        Var Act(int t) => F.Constant(Tensor.FromArray<float>(batch.Actions.AsSpan(t * b * actDim, b * actDim), new Shape(b, actDim), device));
        Var Rew(int t) => F.Constant(Tensor.FromArray<float>(batch.Rewards.AsSpan(t * b, b), new Shape(b, 1), device));

        var z = model.Encode(Obs(0));
        var latents = new Var[horizon + 1];
        latents[0] = z.Detach();
        Var? consistency = null, reward = null, value = null;
        var priorities = new double[b];
        for (int t = 0; t < horizon; t++)
        {
            var action = Act(t);
            var rewardT = Rew(t);
            var (q1, q2) = model.Q(z, action);
            var (zNext, rewardPred) = model.Next(z, action);
            z = zNext;
            Var nextLatent, tdTarget;
            using (Autograd.NoGrad())
            {
                nextLatent = target.Encode(Obs(t + 1));
                var (tq1, tq2) = target.Q(nextLatent, model.Policy(nextLatent, policyNoiseStd, rng));
                tdTarget = rewardT + cfg.Discount * F.Minimum(tq1, tq2);
            }
            latents[t + 1] = z.Detach();
            double rho = Math.Pow(cfg.Rho, t);
            var cons = rho * F.Mean(F.Square(z - nextLatent), 1, keepDims: true);
            var rew = rho * F.Square(rewardPred - rewardT);
            var val = rho * (F.Square(q1 - tdTarget) + F.Square(q2 - tdTarget));
            consistency = consistency is null ? cons : consistency + cons;
            reward = reward is null ? rew : reward + rew;
            value = value is null ? val : value + val;

            var q1v = q1.Value.ToDoubleArray(); var q2v = q2.Value.ToDoubleArray(); var tv = tdTarget.Value.ToDoubleArray();
            for (int i = 0; i < b; i++) priorities[i] += rho * (Math.Abs(q1v[i] - tv[i]) + Math.Abs(q2v[i] - tv[i]));
        }
        var total = cfg.ConsistencyCoef * consistency! + cfg.RewardCoef * reward! + cfg.ValueCoef * value!; // [B, 1]
        var weights = F.Constant(Tensor.FromDoubles(batch.Weights, new Shape(b, 1), total.DType, device));
        var weighted = F.Mean(total * weights);
        return new TdMpcLossResult(weighted,
            F.Mean(consistency!).Item(), F.Mean(reward!).Item(), F.Mean(value!).Item(), weighted.Item(), priorities, latents);
    }

    /// <summary>TD-MPC's policy loss −Σ_t ρ^t mean(min_i Q_i(z_t, π(z_t))) over the detached latents of the model unroll.</summary>
    public static Var PolicyLoss(Told model, IReadOnlyList<Var> latents, RlConfig cfg, double policyNoiseStd, RandomGenerator rng)
    {
        Var? loss = null;
        for (int t = 0; t < latents.Count; t++)
        {
            var action = model.Policy(latents[t], policyNoiseStd, rng);
            var (q1, q2) = model.Q(latents[t], action);
            var term = -Math.Pow(cfg.Rho, t) * F.Mean(F.Minimum(q1, q2));
            loss = loss is null ? term : loss + term;
        }
        return loss!;
    }
}
