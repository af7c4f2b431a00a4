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
/// MPPI/CEM planning in latent space with a share of π-rollout candidates and a warm start.
/// </summary>
public sealed class TdMpcAgent : IAgent
{
    private readonly RlConfig _cfg;
    private readonly double[] _previousMean;
    private bool _hasPrevious;
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
        _previousMean = new double[cfg.Horizon * actionDim];
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

    public void BeginEpisode() => _hasPrevious = false;

    public void EndEpisode() { }

    public int PlanningHorizon(long envStep) =>
        Math.Max(1, (int)Math.Min(_cfg.Horizon, Schedules.Linear(1, _cfg.Horizon, _cfg.HorizonScheduleSteps, envStep)));

    public double ExplorationStd(long envStep) => Schedules.Linear(_cfg.StdScheduleStart, _cfg.StdScheduleEnd, _cfg.StdScheduleSteps, envStep);

    public double[] Act(double[] observation, long envStep, bool eval)
    {
        using var scope = Autograd.Scope(); // every intermediate buffer goes back to the pool at the end
        using var noGrad = Autograd.NoGrad();
        int horizon = PlanningHorizon(envStep);
        var device = Told.Encoder.Parameters()[0].Device;
        var z0 = Told.Encode(F.Constant(Tensor.FromDoubles(observation, new Shape(1, observation.Length), Told.Encoder.Parameters()[0].DType, device)));
        using var policySamples = PolicyRollouts(z0, horizon);

        // Warm start: the previous plan's mean shifted by one step (zeros at the start of an episode).
        var initial = new double[horizon * ActionDim];
        if (_hasPrevious)
            Array.Copy(_previousMean, ActionDim, initial, 0, (horizon - 1) * ActionDim);
        using var initialMean = Tensor.FromDoubles(initial, new Shape(1, horizon, ActionDim), z0.DType, device);
        var options = new SamplingOptions
        {
            Method = _cfg.Planner == "cem" ? SamplingMethod.Cem : SamplingMethod.Mppi,
            Iterations = _cfg.PlanIterations, Samples = _cfg.PlanSamples, Elites = _cfg.PlanElites,
            Temperature = _cfg.Temperature, Momentum = _cfg.Momentum, MaxStd = _cfg.MaxStd,
            MinStd = ExplorationStd(envStep), Explore = !eval,
        };
        var plan = SamplingPlanner.Plan(actions => EstimateValue(z0, actions), initialMean, policySamples, Rng, options);
        var mean = plan.Mean.ToDoubleArray();
        Array.Clear(_previousMean);
        Array.Copy(mean, _previousMean, mean.Length);
        _hasPrevious = true;
        var action = plan.Action.ToDoubleArray();
        plan.Mean.Dispose(); plan.Std.Dispose(); plan.Action.Dispose();
        return action;
    }

    /// <summary>TD-MPC's mixture: MixtureCoef·Samples sequences from rolling π (with min-std noise) through the model, [1, P, H, m].</summary>
    private Tensor? PolicyRollouts(Var z0, int horizon)
    {
        int count = (int)(_cfg.MixtureCoef * _cfg.PlanSamples);
        if (count == 0) return null;
        var z = F.Expand(z0, new Shape(count, Told.LatentDim));
        var steps = new Var[horizon];
        for (int t = 0; t < horizon; t++)
        {
            steps[t] = Told.Policy(z, _cfg.MinStd, Rng);
            if (t + 1 < horizon) z = Told.Next(z, steps[t]).Next;
        }
        var stacked = F.Stack(steps, 1); // [P, H, m]
        return stacked.Value.Reshape(new Shape(1, count, horizon, ActionDim)).Contiguous();
    }

    /// <summary>G = Σ_t γ^t R(z_t, a_t) + γ^H min_i Q_i(z_H, π(z_H)) for every sequence of actions [R, H, m].</summary>
    public Tensor EstimateValue(Var z0, Tensor actions)
    {
        int count = actions.Shape[0], horizon = actions.Shape[1];
        var z = F.Expand(z0, new Shape(count, Told.LatentDim));
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
        var (q1, q2) = Told.Q(z, Told.Policy(z, _cfg.MinStd, Rng));
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
