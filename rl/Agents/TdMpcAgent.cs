using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;
using DiffTori.Rl.Replay;
using DiffTori.TrajOpt;

namespace DiffTori.Rl.Agents;

/// <summary>
/// TD-MPC (Hansen, Wang, Su 2022): a TOLD model trained by <see cref="TdMpcLoss"/> on prioritized
/// replay windows, a policy trained to maximize Q, an EMA target model, and actions chosen by
/// MPPI/CEM planning in latent space with a share of π-rollout candidates and a warm start per
/// environment slot (planning in TdMpcAgent.Planning.cs).
/// </summary>
public sealed partial class TdMpcAgent : IAgent
{
    private readonly RlConfig _cfg;
    private readonly PerSlot<double[]> _previousMean = new();
    private readonly List<Var> _modelParameters;

    public TdMpcAgent(int observationDim, int actionDim, RlConfig cfg, Device? device = null, DType dtype = DType.Float32)
    {
        _cfg = cfg;
        ActionDim = actionDim;
        Rng = new RandomGenerator((ulong)cfg.Seed * 0x9E3779B97F4A7C15UL + 17);
        var init = new RandomGenerator((ulong)cfg.Seed + 1000);
        Told = new Told(observationDim, actionDim, cfg.LatentDim, cfg.HiddenDim, cfg.EncoderDim, init, device, dtype);
        Target = new Told(observationDim, actionDim, cfg.LatentDim, cfg.HiddenDim, cfg.EncoderDim, init, device, dtype);
        Ema.HardUpdate(Target, Told);
        var group = new ModuleGroup();
        group.Add("model", Told);
        group.Add("target", Target);
        Model = group;
        // The model optimizer skips π (π has its own optimizer and loss, as in TD-MPC).
        var piParameters = new HashSet<Var>(Told.Pi.Parameters());
        _modelParameters = Told.Parameters().Where(p => !piParameters.Contains(p)).ToList();
        ModelOptimizer = new Adam(_modelParameters, cfg.Lr);
        PiOptimizer = new Adam(Told.Pi.Parameters(), cfg.Lr);
        Optimizers = [new("model", ModelOptimizer), new("pi", PiOptimizer)];
        Streams = new EnvStreams(Rng);
    }

    public string Name => "tdmpc";
    public int ActionDim { get; }
    public int ReplayWindow => _cfg.Horizon;
    public IReadOnlyList<string> MetricNames { get; } = ["consistency_loss", "reward_loss", "value_loss", "pi_loss", "total_loss", "grad_norm"];
    public Told Told { get; }
    public Told Target { get; }
    public Module Model { get; }
    public Adam ModelOptimizer { get; }
    public Adam PiOptimizer { get; }
    public IReadOnlyList<KeyValuePair<string, Optimizer>> Optimizers { get; }
    public RandomGenerator Rng { get; }
    public EnvStreams Streams { get; }

    public void BeginEpisode(int env) => _previousMean[env] = null;

    public void EndEpisode(int env) { }

    public void BeginEpisode() => BeginEpisode(0);

    public void EndEpisode() => EndEpisode(0);

    public int PlanningHorizon(long envStep) =>
        Math.Max(1, (int)Math.Min(_cfg.Horizon, Schedules.Linear(1, _cfg.Horizon, _cfg.HorizonScheduleSteps, envStep)));

    public double ExplorationStd(long envStep) => Schedules.Linear(_cfg.StdScheduleStart, _cfg.StdScheduleEnd, _cfg.StdScheduleSteps, envStep);

    public double[] Act(double[] observation, long envStep, bool eval) => ActBatch(observation, [0], envStep, eval);

    public double[] ActBatch(ReadOnlySpan<double> observations, ReadOnlySpan<int> envs, long envStep, bool eval)
    {
        EnvStreams.CheckSlots("TdMpcAgent.ActBatch", envs, observations.Length, Told.ObservationDim);
        using var scope = Autograd.Scope(); // every intermediate buffer goes back to the pool at the end
        using var noGrad = Autograd.NoGrad();
        int batch = envs.Length, horizon = PlanningHorizon(envStep);
        var p0 = Told.Encoder.Parameters()[0];
        var z0 = Told.Encode(F.Constant(Tensor.FromDoubles(observations, new Shape(batch, Told.ObservationDim), p0.DType, p0.Device)));

        // Warm start: each slot's previous plan mean shifted by one step (zeros at the start of an episode).
        var initial = new double[batch * horizon * ActionDim];
        for (int b = 0; b < batch; b++)
            if (_previousMean[envs[b]] is { } previous)
                Array.Copy(previous, ActionDim, initial, b * horizon * ActionDim, (horizon - 1) * ActionDim);
        var plan = Plan(z0, initial, horizon, envs, envStep, eval);
        int length = _cfg.Horizon * ActionDim;
        for (int b = 0; b < batch; b++)
        {
            var mean = _previousMean[envs[b]] ?? new double[length];
            Array.Clear(mean);
            Array.Copy(plan.Mean, b * horizon * ActionDim, mean, 0, horizon * ActionDim);
            _previousMean[envs[b]] = mean;
        }
        return plan.Action;
    }

    /// <summary>
    /// TD-MPC's mixture: MixtureCoef·Samples sequences per environment from rolling π (with min-std noise
    /// from each environment's stream) through the model, [B·P·H·m] (null when P = 0).
    /// </summary>
    private double[]? PolicyRollouts(Var z0, int horizon, ReadOnlySpan<int> envs)
    {
        int count = (int)(_cfg.MixtureCoef * _cfg.PlanSamples);
        if (count == 0) return null;
        using var scope = Autograd.Scope(); // only the numbers leave
        var z = RepeatRows(z0, count);
        var steps = new Var[horizon];
        for (int t = 0; t < horizon; t++)
        {
            steps[t] = PolicyWithStreamNoise(z, count, envs);
            if (t + 1 < horizon) z = Told.Next(z, steps[t]).Next;
        }
        return F.Stack(steps, 1).Value.ToDoubleArray(); // [B·P, H, m], rows of environment b first
    }

    /// <summary>π(z) with TD-MPC's clipped min-std noise, rows [b·rowsPerEnv, (b+1)·rowsPerEnv) drawing from slot envs[b].</summary>
    private Var PolicyWithStreamNoise(Var z, int rowsPerEnv, ReadOnlySpan<int> envs)
    {
        if (_cfg.MinStd <= 0) return Told.Policy(z, 0, Rng);
        var p0 = Told.Pi.Parameters()[0];
        using var noise = Streams.Normal(envs, rowsPerEnv, ActionDim, _cfg.MinStd, p0.DType, p0.Device);
        return Told.Policy(z, noise);
    }

    /// <summary>z0 [B, n] → [B·count, n], each row repeated count times (block b holds row b).</summary>
    internal static Var RepeatRows(Var z0, int count)
    {
        int batch = z0.Shape[0], n = z0.Shape[1];
        if (batch == 1) return F.Expand(z0, new Shape(count, n));
        return F.Reshape(F.Expand(F.Unsqueeze(z0, 1), new Shape(batch, count, n)), batch * count, n);
    }

    /// <summary>
    /// G = Σ_t γ^t R(z_t, a_t) + γ^H min_i Q_i(z_H, π(z_H)) for the sequences actions [B·R, H, m], block b of
    /// R rows starting from z0[b]; π's min-std noise for block b comes from slot envs[b].
    /// </summary>
    public Tensor EstimateValue(Var z0, Tensor actions, ReadOnlySpan<int> envs)
    {
        int count = actions.Shape[0], horizon = actions.Shape[1], perEnv = count / envs.Length;
        if (envs.Length == 0 || count != perEnv * envs.Length)
            throw new ArgumentException($"TdMpcAgent.EstimateValue: {count} action sequences cannot be split evenly over {envs.Length} environments");
        var z = RepeatRows(z0, perEnv);
        Var? g = null;
        double discount = 1;
        for (int t = 0; t < horizon; t++)
        {
            var a = F.Constant(actions.Select(1, t).Contiguous());
            var (next, reward) = Told.Next(z, a);
            g = g is null ? reward : g + discount * reward;
            z = next;
            discount *= _cfg.Discount;
        }
        var (q1, q2) = Told.Q(z, PolicyWithStreamNoise(z, perEnv, envs));
        var value = g! + discount * F.Minimum(q1, q2);
        return value.Value.Reshape(new Shape(count));
    }

    public void Update(ReplayBuffer buffer, long envStep, Dictionary<string, double> metrics)
    {
        using var scope = Autograd.Scope(); // every intermediate buffer goes back to the pool at the end
        var batch = buffer.Sample(_cfg.BatchSize, Rng);
        Told.ZeroGrad();
        var loss = TdMpcLoss.Compute(Told, Target, batch, _cfg, _cfg.MinStd, Rng);
        // TD-MPC scales the gradient (not the reported loss) by 1/H.
        (loss.WeightedLoss * (1.0 / batch.Window)).Backward();
        double gradNorm = GradClip.ClipGradNorm(_modelParameters, _cfg.GradClipNorm);
        if (double.IsFinite(gradNorm)) ModelOptimizer.Step();
        var priorities = loss.Priorities;
        for (int i = 0; i < priorities.Length; i++) priorities[i] = Math.Min(priorities[i], 1e4);
        buffer.UpdatePriorities(batch.Indices, priorities);

        Told.ZeroGrad();
        var piLoss = TdMpcLoss.PolicyLoss(Told, loss.Latents, _cfg, _cfg.MinStd, Rng);
        piLoss.Backward();
        GradClip.ClipGradNorm(PiOptimizer.Parameters, _cfg.GradClipNorm);
        PiOptimizer.Step();

        // The π optimizer steps once per update, and its counter is checkpointed: it is the update count.
        if (PiOptimizer.StepCount % _cfg.TargetUpdateEvery == 0)
            using (Autograd.NoGrad()) Ema.SoftUpdate(Target, Told, _cfg.Tau);

        Add(metrics, "consistency_loss", loss.Consistency);
        Add(metrics, "reward_loss", loss.Reward);
        Add(metrics, "value_loss", loss.Value);
        Add(metrics, "total_loss", loss.Total);
        Add(metrics, "pi_loss", piLoss.Item());
        Add(metrics, "grad_norm", gradNorm);
    }

    internal static void Add(Dictionary<string, double> metrics, string key, double value) =>
        metrics[key] = metrics.GetValueOrDefault(key) + value;
}
