using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;
using DiffTori.Rl.Replay;

namespace DiffTori.Rl.Agents;

/// <summary>
/// Soft actor-critic (Haarnoja et al. 2018) with twin Q, target critics by EMA, a tanh-squashed
/// Gaussian actor and automatic entropy tuning towards the target entropy −|A|.
/// </summary>
public sealed class SacAgent : IAgent
{
    private readonly RlConfig _cfg;
    private readonly int _actionDim, _observationDim;
    private readonly double _targetEntropy;

    public SacAgent(int observationDim, int actionDim, RlConfig cfg, Device? device = null)
    {
        _cfg = cfg;
        _actionDim = actionDim;
        _observationDim = observationDim;
        _targetEntropy = -actionDim;
        Rng = new RandomGenerator((ulong)cfg.Seed * 0x9E3779B97F4A7C15UL + 29);
        Streams = new EnvStreams(Rng);
        var init = new RandomGenerator((ulong)cfg.Seed + 2000);
        int h = cfg.SacHiddenDim;
        Layer Relu() => new Relu();
        Actor = Mlp.Build([observationDim, h, h, 2 * actionDim], Relu, init, device: device);
        Q1 = Mlp.Build([observationDim + actionDim, h, h, 1], Relu, init, device: device);
        Q2 = Mlp.Build([observationDim + actionDim, h, h, 1], Relu, init, device: device);
        TargetQ1 = Mlp.Build([observationDim + actionDim, h, h, 1], Relu, init, device: device);
        TargetQ2 = Mlp.Build([observationDim + actionDim, h, h, 1], Relu, init, device: device);
        Ema.HardUpdate(TargetQ1, Q1);
        Ema.HardUpdate(TargetQ2, Q2);
        LogAlpha = new ScalarParameter("log_alpha", Math.Log(cfg.SacInitTemperature), device);
        var group = new ModuleGroup();
        group.Add("actor", Actor); group.Add("q1", Q1); group.Add("q2", Q2);
        group.Add("target_q1", TargetQ1); group.Add("target_q2", TargetQ2); group.Add("alpha", LogAlpha);
        Model = group;
        ActorOptimizer = new Adam(Actor.Parameters(), cfg.SacLr);
        CriticOptimizer = new Adam(Q1.Parameters().Concat(Q2.Parameters()), cfg.SacLr);
        AlphaOptimizer = new Adam(LogAlpha.Parameters(), cfg.SacLr, beta1: 0.5);
        Optimizers = [new("actor", ActorOptimizer), new("critic", CriticOptimizer), new("alpha", AlphaOptimizer)];
    }

    public string Name => "sac";
    public int ReplayWindow => 1;
    public IReadOnlyList<string> MetricNames { get; } = ["critic_loss", "actor_loss", "alpha_loss", "alpha", "entropy"];
    public Sequential Actor { get; }
    public Sequential Q1 { get; }
    public Sequential Q2 { get; }
    public Sequential TargetQ1 { get; }
    public Sequential TargetQ2 { get; }
    public ScalarParameter LogAlpha { get; }
    public Module Model { get; }
    public Adam ActorOptimizer { get; }
    public Adam CriticOptimizer { get; }
    public Adam AlphaOptimizer { get; }
    public IReadOnlyList<KeyValuePair<string, Optimizer>> Optimizers { get; }
    public RandomGenerator Rng { get; }
    public EnvStreams Streams { get; }
    public double Alpha => Math.Exp(LogAlpha.Value.Item());

    public void BeginEpisode(int env) { }

    public void EndEpisode(int env) { }

    public void BeginEpisode() { }

    public void EndEpisode() { }

    public double[] Act(double[] observation, long envStep, bool eval) => ActBatch(observation, [0], envStep, eval);

    public double[] ActBatch(ReadOnlySpan<double> observations, ReadOnlySpan<int> envs, long envStep, bool eval)
    {
        EnvStreams.CheckSlots("SacAgent.ActBatch", envs, observations.Length, _observationDim);
        using var scope = Autograd.Scope(); // every intermediate buffer goes back to the pool at the end
        using var _ = Autograd.NoGrad();
        var obs = F.Constant(Tensor.FromDoubles(observations, new Shape(envs.Length, _observationDim), DType.Float32, Actor.Parameters()[0].Device));
        var (mean, logStd) = SacMath.Head(Actor.Forward(obs), _actionDim);
        if (eval) return F.Tanh(mean).Value.ToDoubleArray();
        // Row b's noise from slot envs[b]'s stream: the same draw a single-environment call makes.
        var noise = F.Constant(Streams.Normal(envs, 1, _actionDim, 1, mean.DType, mean.Device));
        return SacMath.Sample(mean, logStd, noise).Action.Value.ToDoubleArray();
    }

    public void Update(ReplayBuffer buffer, long envStep, Dictionary<string, double> metrics)
    {
        using var scope = Autograd.Scope(); // every intermediate buffer goes back to the pool at the end
        var batch = buffer.Sample(_cfg.SacBatchSize, Rng);
        int b = batch.BatchSize, o = batch.ObservationDim, a = batch.ActionDim;
        var device = Actor.Parameters()[0].Device;
        var obs = F.Constant(Tensor.FromArray<float>(batch.Observations.AsSpan(0, b * o), new Shape(b, o), device));
        var nextObs = F.Constant(Tensor.FromArray<float>(batch.Observations.AsSpan(b * o, b * o), new Shape(b, o), device));
        var action = F.Constant(Tensor.FromArray<float>(batch.Actions.AsSpan(0, b * a), new Shape(b, a), device));
        var reward = F.Constant(Tensor.FromArray<float>(batch.Rewards.AsSpan(0, b), new Shape(b, 1), device));
        var notDone = F.Constant(Tensor.FromArray<float>(Array.ConvertAll(batch.Terminals, x => 1 - x), new Shape(b, 1), device));
        double alpha = Alpha;

        // Critic: y = r + γ·(1 − d)·(min Q⁻(s', a') − α log π(a'|s')), a' ~ π(·|s').
        Var target;
        using (Autograd.NoGrad())
        {
            var (m, ls) = SacMath.Head(Actor.Forward(nextObs), a);
            var next = SacMath.Sample(m, ls, F.Constant(Ops.Normal(m.Shape, Rng, dtype: m.DType, device: device)));
            var sa = F.Concat([nextObs, next.Action], -1);
            target = SacMath.CriticTarget(reward, notDone, TargetQ1.Forward(sa), TargetQ2.Forward(sa), next.LogProb, _cfg.Discount, alpha);
        }
        var obsAction = F.Concat([obs, action], -1);
        var criticLoss = SacMath.CriticLoss(Q1.Forward(obsAction), Q2.Forward(obsAction), target);
        CriticOptimizer.ZeroGrad();
        criticLoss.Backward();
        CriticOptimizer.Step();

        // Actor: E[α log π(a|s) − min Q(s, a)], a ~ π(·|s) by reparameterization.
        var (mean, logStd) = SacMath.Head(Actor.Forward(obs), a);
        var sample = SacMath.Sample(mean, logStd, F.Constant(Ops.Normal(mean.Shape, Rng, dtype: mean.DType, device: device)));
        var sampleInput = F.Concat([obs, sample.Action], -1);
        var actorLoss = SacMath.ActorLoss(sample.LogProb, Q1.Forward(sampleInput), Q2.Forward(sampleInput), alpha);
        ActorOptimizer.ZeroGrad();
        actorLoss.Backward();
        ActorOptimizer.Step();

        // Temperature: −log α · (log π + target entropy), the log-probabilities held fixed.
        var alphaLoss = SacMath.AlphaLoss(LogAlpha.Value, sample.LogProb.Detach(), _targetEntropy);
        AlphaOptimizer.ZeroGrad();
        alphaLoss.Backward();
        AlphaOptimizer.Step();

        using (Autograd.NoGrad())
        {
            Ema.SoftUpdate(TargetQ1, Q1, _cfg.SacTau);
            Ema.SoftUpdate(TargetQ2, Q2, _cfg.SacTau);
        }
        TdMpcAgent.Add(metrics, "critic_loss", criticLoss.Item());
        TdMpcAgent.Add(metrics, "actor_loss", actorLoss.Item());
        TdMpcAgent.Add(metrics, "alpha_loss", alphaLoss.Item());
        TdMpcAgent.Add(metrics, "alpha", alpha);
        TdMpcAgent.Add(metrics, "entropy", -F.Mean(sample.LogProb).Item());
    }
}

/// <summary>The formulas of SAC as small functions of Vars (tested one by one against direct computation).</summary>
public static class SacMath
{
    public const double LogStdMin = -5, LogStdMax = 2;

    /// <summary>Split the actor output [B, 2A] into the mean and a log-std squashed into [LogStdMin, LogStdMax].</summary>
    public static (Var Mean, Var LogStd) Head(Var output, int actionDim)
    {
        var parts = F.Split(output, -1, actionDim, actionDim);
        var logStd = LogStdMin + 0.5 * (LogStdMax - LogStdMin) * (F.Tanh(parts[1]) + 1);
        return (parts[0], logStd);
    }

    /// <summary>
    /// a = tanh(u), u = mean + exp(logStd)·ε; log π(a) = Σ_j [log N(u_j; mean_j, std_j) − log(1 − tanh²u_j)],
    /// the Jacobian term written stably as 2·(log 2 − u − softplus(−2u)). Returns a [B, A] and log π [B, 1].
    /// </summary>
    public static (Var Action, Var LogProb) Sample(Var mean, Var logStd, Var noise)
    {
        var u = mean + F.Exp(logStd) * noise;
        var gaussian = -0.5 * F.Square(noise) - logStd - 0.5 * Math.Log(2 * Math.PI);
        var squash = 2.0 * (Math.Log(2) - u - F.Softplus(-2.0 * u));
        var logProb = F.Sum(gaussian - squash, -1, keepDims: true);
        return (F.Tanh(u), logProb);
    }

    public static Var CriticTarget(Var reward, Var notDone, Var targetQ1, Var targetQ2, Var nextLogProb, double discount, double alpha) =>
        reward + discount * notDone * (F.Minimum(targetQ1, targetQ2) - alpha * nextLogProb);

    public static Var CriticLoss(Var q1, Var q2, Var target) => F.Mean(F.Square(q1 - target)) + F.Mean(F.Square(q2 - target));

    public static Var ActorLoss(Var logProb, Var q1, Var q2, double alpha) => F.Mean(alpha * logProb - F.Minimum(q1, q2));

    public static Var AlphaLoss(Var logAlpha, Var logProb, double targetEntropy) => -F.Mean(logAlpha * (logProb + targetEntropy));
}
