using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;
using DiffTori.Rl.Replay;
using DiffTori.TrajOpt;

namespace DiffTori.Rl.Agents;

/// <summary>
/// DiffTORI (Wan et al. 2024) for model-based RL: the TD-MPC model and its losses, but the action is
/// the first step of a*(θ) = argmin_a ½(−G(a; h(s), θ) + offset)², solved by Levenberg–Marquardt over
/// the whole action sequence (initialized from a π rollout), where
///   G = Σ_t γ^t R(z_t, a_t) + γ^H min_i Q_i(z_H, π(z_H)),  z_0 = h(s), z_{t+1} = d(z_t, a_t).
/// The policy-gradient loss L_PG = −min_i Q̃_i(s, a*(θ)_0) is backpropagated through the solver
/// (truncated, unrolled or implicit gradients) into the encoder, dynamics, reward and Q networks.
/// Q̃ is a twin critic on raw observations, trained by TD with the policy's next action and an EMA target.
/// </summary>
public sealed class DiffToriAgent : IAgent
{
    private readonly RlConfig _cfg;
    private readonly List<Var> _pgParameters;
    private readonly PerSlot<double[]> _previousSolution = new();
    private readonly Dictionary<int, MlpShootingResidual> _plans = [];
    private int _pgTerms;

    public DiffToriAgent(int observationDim, int actionDim, RlConfig cfg, Device? device = null, DType dtype = DType.Float32)
    {
        _cfg = cfg;
        ActionDim = actionDim;
        Inner = new TdMpcAgent(observationDim, actionDim, cfg, device, dtype);
        var init = new RandomGenerator((ulong)cfg.Seed + 3000);
        QTilde1 = Told.QHead(observationDim + actionDim, cfg.HiddenDim, init, device, dtype);
        QTilde2 = Told.QHead(observationDim + actionDim, cfg.HiddenDim, init, device, dtype);
        TargetQTilde1 = Told.QHead(observationDim + actionDim, cfg.HiddenDim, init, device, dtype);
        TargetQTilde2 = Told.QHead(observationDim + actionDim, cfg.HiddenDim, init, device, dtype);
        foreach (var q in new[] { QTilde1, QTilde2 }) { ModuleInit.Orthogonal(q, init); ModuleInit.ZeroLastLayer(q); }
        Ema.HardUpdate(TargetQTilde1, QTilde1);
        Ema.HardUpdate(TargetQTilde2, QTilde2);
        var group = new ModuleGroup();
        group.Add("tdmpc", Inner.Model);
        group.Add("qtilde1", QTilde1); group.Add("qtilde2", QTilde2);
        group.Add("target_qtilde1", TargetQTilde1); group.Add("target_qtilde2", TargetQTilde2);
        Model = group;
        var pi = new HashSet<Var>(Told.Pi.Parameters());
        _pgParameters = Told.Parameters().Where(p => !pi.Contains(p)).ToList();
        QTildeOptimizer = new Adam(QTilde1.Parameters().Concat(QTilde2.Parameters()), cfg.Lr);
        PgOptimizer = new Adam(_pgParameters, cfg.PgLr);
        Optimizers = [.. Inner.Optimizers, new("qtilde", QTildeOptimizer), new("pg", PgOptimizer)];
    }

    public string Name => "difftori";
    public int ActionDim { get; }
    public TdMpcAgent Inner { get; }
    public Told Told => Inner.Told;
    public Sequential QTilde1 { get; }
    public Sequential QTilde2 { get; }
    public Sequential TargetQTilde1 { get; }
    public Sequential TargetQTilde2 { get; }
    public Adam QTildeOptimizer { get; }
    public Adam PgOptimizer { get; }
    public int ReplayWindow => Inner.ReplayWindow;
    public IReadOnlyList<string> MetricNames { get; } =
        ["consistency_loss", "reward_loss", "value_loss", "pi_loss", "total_loss", "grad_norm", "qtilde_loss"];
    public Module Model { get; }
    public IReadOnlyList<KeyValuePair<string, Optimizer>> Optimizers { get; }
    public RandomGenerator Rng => Inner.Rng;
    public EnvStreams Streams => Inner.Streams;
    /// <summary>The last solve (its status for logs and tests; U is released when the Act that made it returns).</summary>
    public LmResult? LastSolve { get; private set; }
    /// <summary>The last policy-gradient loss value.</summary>
    public double LastPgLoss { get; private set; } = double.NaN;

    public void BeginEpisode(int env) => _previousSolution[env] = null;

    /// <summary>
    /// With pg_schedule = episode: one Adam step on the policy gradient accumulated since the last step,
    /// over every slot (with N environments in lockstep, the first of them to end applies the gradient
    /// of all N episodes; the others find nothing left to apply).
    /// </summary>
    public void EndEpisode(int env)
    {
        if (_cfg.PgSchedule == "episode" && _pgTerms > 0) ApplyPgStep();
        _pgTerms = 0;
    }

    public void BeginEpisode() => BeginEpisode(0);

    public void EndEpisode() => EndEpisode(0);

    private void ApplyPgStep()
    {
        double norm = GradClip.ClipGradNorm(_pgParameters, _cfg.PgGradClip);
        if (double.IsFinite(norm)) PgOptimizer.Step();
        foreach (var p in _pgParameters) GradClip.ResetGrad(p);
    }

    public double[] Act(double[] observation, long envStep, bool eval) => ActBatch(observation, [0], envStep, eval);

    public double[] ActBatch(ReadOnlySpan<double> observations, ReadOnlySpan<int> envs, long envStep, bool eval)
    {
        EnvStreams.CheckSlots("DiffToriAgent.ActBatch", envs, observations.Length, Told.ObservationDim);
        using var scope = Autograd.Scope(); // every intermediate buffer goes back to the pool at the end
        bool learn = !eval && _cfg.PgEnabled && envStep >= _cfg.PgStartSteps;
        int batch = envs.Length, horizon = Inner.PlanningHorizon(envStep);
        var obs = ObservationVar(observations, batch);
        double[] action;
        if (learn)
        {
            // One backward for the batch: L_PG sums the environments' losses, so the gradient is the sum of theirs.
            var pgLoss = PolicyGradientLoss(obs, horizon, envs, out var first);
            if (_pgTerms == 0) foreach (var p in _pgParameters) GradClip.ResetGrad(p);
            pgLoss.Backward();
            _pgTerms++;
            LastPgLoss = pgLoss.Item();
            if (_cfg.PgSchedule == "step") { ApplyPgStep(); _pgTerms = 0; }
            action = first;
        }
        else
        {
            // Evaluation may act with its own (smaller) LM step; training acts with the step the gradient sees.
            double? step = eval ? _cfg.SolverEvalStepSize : null;
            using (Autograd.NoGrad()) action = FirstActions(Solve(obs, horizon, GradientMode.None, envs, step).Value.ToDoubleArray(), batch, horizon);
        }
        if (!eval)
        {
            double std = Inner.ExplorationStd(envStep);
            for (int b = 0; b < batch; b++)
            {
                var rng = Streams[envs[b]];
                for (int j = 0; j < ActionDim; j++)
                    action[b * ActionDim + j] = Math.Clamp(action[b * ActionDim + j] + std * rng.NextNormal(), -1, 1);
            }
        }
        return action;
    }

    /// <summary>The first step a*_0 of each row of solutions [B, H·m], as [B·m].</summary>
    private double[] FirstActions(double[] solutions, int batch, int horizon)
    {
        if (batch == 1) return solutions[..ActionDim];
        var first = new double[batch * ActionDim];
        for (int b = 0; b < batch; b++) Array.Copy(solutions, b * horizon * ActionDim, first, b * ActionDim, ActionDim);
        return first;
    }

    private Var ObservationVar(ReadOnlySpan<double> observations, int batch)
    {
        var p = Told.Encoder.Parameters()[0];
        return F.Constant(Tensor.FromDoubles(observations, new Shape(batch, Told.ObservationDim), p.DType, p.Device));
    }

    /// <summary>Slots 0 … B−1 for B rows (the single-environment entry points use slot 0).</summary>
    private static int[] FirstSlots(int rows) => Enumerable.Range(0, rows).ToArray();

    /// <summary><see cref="PolicyGradientLoss(Var, int, ReadOnlySpan{int}, out double[])"/> on slots 0 … B−1.</summary>
    public Var PolicyGradientLoss(Var observation, int horizon, out double[] first) =>
        PolicyGradientLoss(observation, horizon, FirstSlots(observation.Shape[0]), out first);

    /// <summary>
    /// L_PG = −Σ_b min_i Q̃_i(s_b, a*(θ)_{b,0}) for observations [B, obs] (row b in slot envs[b]), with a*
    /// connected to the model parameters through the solver as cfg.SolverGradient says. Rows never interact,
    /// so the gradient is the sum of the single-environment gradients. first: a*_0 as numbers [B·m].
    /// </summary>
    public Var PolicyGradientLoss(Var observation, int horizon, ReadOnlySpan<int> envs, out double[] first)
    {
        var mode = _cfg.SolverGradient switch { "unrolled" => GradientMode.Unrolled, "implicit" => GradientMode.Implicit, _ => GradientMode.Truncated };
        var u = Solve(observation, horizon, mode, envs);
        var a0 = F.Narrow(u, 1, 0, ActionDim);
        first = a0.Value.ToDoubleArray();
        var sa = F.Concat([observation, a0], -1);
        return -F.Sum(F.Minimum(QTilde1.Forward(sa), QTilde2.Forward(sa)));
    }

    /// <summary><see cref="Solve(Var, int, GradientMode, ReadOnlySpan{int})"/> on slots 0 … B−1.</summary>
    public Var Solve(Var observation, int horizon, GradientMode mode) => Solve(observation, horizon, mode, FirstSlots(observation.Shape[0]));

    /// <summary>
    /// a*(θ) [B, H·m] for observations [B, obs]: LM on the scalar residual r = −G + offset of each row (or
    /// iLQR, cfg.Solver), from the π rollout (or slot envs[b]'s shifted previous solution), one batched solve;
    /// stepSize overrides cfg.SolverStepSize for this solve (LM only).
    /// </summary>
    public Var Solve(Var observation, int horizon, GradientMode mode, ReadOnlySpan<int> envs, double? stepSize = null)
    {
        int batch = observation.Shape[0];
        if (envs.Length != batch) throw new ArgumentException($"DiffToriAgent.Solve: {batch} observation rows but {envs.Length} environment slots");
        var z0 = Told.Encode(observation);
        var init = InitialSequence(z0, horizon, differentiable: mode == GradientMode.Unrolled && Autograd.IsGradEnabled, envs);
        var solution = _cfg.Solver == "ilqr" ? SolveIlqr(z0, init, horizon, mode) : SolveLm(z0, init, horizon, mode, stepSize ?? _cfg.SolverStepSize);
        var values = solution.Value.ToDoubleArray();
        int length = horizon * ActionDim;
        for (int b = 0; b < batch; b++) _previousSolution[envs[b]] = batch == 1 ? values : values[(b * length)..((b + 1) * length)];
        return solution;
    }

    private Var SolveLm(Var z0, Var init, int horizon, GradientMode mode, double stepSize)
    {
        // The residual r = offset − G of each row; its iterations, recorded ones included, run on the graph-free
        // kernel (float32 CPU models), which also gives the parameter gradients; otherwise on the Var definition.
        var plan = PlanningResidual(horizon);
        var result = LevenbergMarquardt.Solve(plan.Residual(z0), init, new LmOptions
        {
            Iterations = _cfg.SolverIterations, Damping = _cfg.SolverDamping, StepSize = stepSize,
            Lower = -1, Upper = 1, Gradient = mode, TruncatedSteps = _cfg.SolverTruncatedSteps,
        }, plan.Kernel(z0));
        LastSolve = result;
        return result.U;
    }

    /// <summary>
    /// G = Σ_t γ^t R(z_t, a_t) + γ^H min(Q1, Q2)(z_H, tanh(π(z_H))) over the TOLD networks (read in place, so
    /// it follows every update), one per planning horizon: its kernel's buffers are allocated once.
    /// </summary>
    private MlpShootingResidual PlanningResidual(int horizon)
    {
        if (!_plans.TryGetValue(horizon, out var plan))
        {
            plan = new MlpShootingResidual(Told.Dynamics, Told.Reward, [Told.Q1, Told.Q2], Told.Pi, tanhPolicy: true,
                Told.LatentDim, ActionDim, horizon, _cfg.Discount, _cfg.ResidualOffset);
            _plans[horizon] = plan;
        }
        return plan;
    }

    /// <summary>
    /// The same problem for box-DDP iLQR: state z (latent), control a, dynamics d(z, a), stage cost
    /// −γ^t R(z_t, a_t), terminal cost −γ^H min_i Q_i(z_H, π(z_H)); gradients as cfg.SolverGradient says:
    /// truncated (the last k iterations recorded), unrolled (every iteration) or implicit (an LQR solve on
    /// the active set at the solution).
    /// </summary>
    private Var SolveIlqr(Var z0, Var init, int horizon, GradientMode mode)
    {
        int batch = z0.Shape[0];
        double gammaH = Math.Pow(_cfg.Discount, horizon);
        var problem = new TrajProblem(Told.LatentDim, ActionDim, horizon,
            dynamics: (z, a) => Told.Dynamics.Forward(F.Concat([z, a], -1)),
            stageCost: (z, a, t) => -Math.Pow(_cfg.Discount, t) * F.Reshape(Told.Reward.Forward(F.Concat([z, a], -1)), z.Shape[0]),
            terminalCost: z =>
            {
                var (q1, q2) = Told.Q(z, Told.Policy(z, 0, Rng));
                return -gammaH * F.Reshape(F.Minimum(q1, q2), z.Shape[0]);
            }).WithBounds(-1, 1);
        if (!Autograd.IsGradEnabled) mode = GradientMode.None;
        var solution = IlqrGradients.Solve(problem, z0, F.Reshape(init, batch, horizon, ActionDim), mode,
            new IlqrOptions { MaxIterations = _cfg.SolverIterations }, truncatedSteps: _cfg.SolverTruncatedSteps);
        var flat = F.Reshape(solution.U, batch, horizon * ActionDim);
        LastSolve = new LmResult(flat, solution.Status, 0);
        return flat;
    }

    /// <summary>
    /// The π rollout from z0 as [B, H·m]. It is a constant except for unrolled gradients, where the whole
    /// computation (initialization included) is differentiated, as finite differences see it.
    /// </summary>
    private Var InitialSequence(Var z0, int horizon, bool differentiable, ReadOnlySpan<int> envs)
    {
        using var scope = differentiable ? null : Autograd.NoGrad();
        int batch = z0.Shape[0];
        var z = differentiable ? z0 : z0.Detach();
        var steps = new Var[horizon];
        for (int t = 0; t < horizon; t++)
        {
            steps[t] = Told.Policy(z, 0, Rng);
            if (t + 1 < horizon) z = Told.Next(z, steps[t]).Next;
        }
        var sequence = F.Reshape(F.Concat(steps, -1), batch, horizon * ActionDim);
        if (_cfg.SolverInit == "shift" && AnyPrevious(envs))
        {
            // Each slot's previous solution shifted by one step; the last step stays π's (all of it at an episode start).
            var values = sequence.Value.ToDoubleArray();
            for (int b = 0; b < batch; b++)
            {
                if (_previousSolution[envs[b]] is not { } previous) continue;
                int keep = Math.Min(horizon - 1, previous.Length / ActionDim - 1);
                Array.Copy(previous, ActionDim, values, b * horizon * ActionDim, keep * ActionDim);
            }
            return F.Constant(Tensor.FromDoubles(values, sequence.Shape, z0.DType, z0.Device));
        }
        return differentiable ? sequence : F.Constant(sequence.Value);
    }

    private bool AnyPrevious(ReadOnlySpan<int> envs)
    {
        foreach (int env in envs) if (_previousSolution[env] is not null) return true;
        return false;
    }

    public void Update(ReplayBuffer buffer, long envStep, Dictionary<string, double> metrics)
    {
        using var scope = Autograd.Scope(); // every intermediate buffer goes back to the pool at the end
        Inner.Update(buffer, envStep, metrics);

        // Q̃ by TD on observations: y = r + γ·min Q̃⁻(s', π(h(s'))).
        var batch = buffer.Sample(_cfg.BatchSize, Rng);
        int b = batch.BatchSize, o = batch.ObservationDim, a = batch.ActionDim;
        var p0 = Told.Encoder.Parameters()[0];
        Var Floats(float[] data, int offset, int rows, int cols) =>
            F.Constant(Tensor.FromDoubles(Array.ConvertAll(data[offset..(offset + rows * cols)], x => (double)x), new Shape(rows, cols), p0.DType, p0.Device));
        var obs = Floats(batch.Observations, 0, b, o);
        var next = Floats(batch.Observations, b * o, b, o);
        var action = Floats(batch.Actions, 0, b, a);
        var reward = Floats(batch.Rewards, 0, b, 1);
        Var target;
        using (Autograd.NoGrad())
        {
            var nextAction = Told.Policy(Told.Encode(next), _cfg.MinStd, Rng);
            var sa = F.Concat([next, nextAction], -1);
            target = reward + _cfg.Discount * F.Minimum(TargetQTilde1.Forward(sa), TargetQTilde2.Forward(sa));
        }
        var input = F.Concat([obs, action], -1);
        var loss = F.Mean(F.Square(QTilde1.Forward(input) - target)) + F.Mean(F.Square(QTilde2.Forward(input) - target));
        QTildeOptimizer.ZeroGrad();
        loss.Backward();
        GradClip.ClipGradNorm(QTildeOptimizer.Parameters, _cfg.GradClipNorm);
        QTildeOptimizer.Step();
        if (QTildeOptimizer.StepCount % _cfg.TargetUpdateEvery == 0)
            using (Autograd.NoGrad())
            {
                Ema.SoftUpdate(TargetQTilde1, QTilde1, _cfg.Tau);
                Ema.SoftUpdate(TargetQTilde2, QTilde2, _cfg.Tau);
            }
        TdMpcAgent.Add(metrics, "qtilde_loss", loss.Item());
    }
}
