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
    private double[]? _previousSolution;
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
    /// <summary>The last solve (its status for logs and tests; U is released when the Act that made it returns).</summary>
    public LmResult? LastSolve { get; private set; }
    /// <summary>The last policy-gradient loss value.</summary>
    public double LastPgLoss { get; private set; } = double.NaN;

    public void BeginEpisode()
    {
        _previousSolution = null;
        _pgTerms = 0;
    }

    public void EndEpisode()
    {
        if (_cfg.PgSchedule == "episode" && _pgTerms > 0) ApplyPgStep();
        _pgTerms = 0;
    }

    private void ApplyPgStep()
    {
        double norm = GradClip.ClipGradNorm(_pgParameters, _cfg.PgGradClip);
        if (double.IsFinite(norm)) PgOptimizer.Step();
        foreach (var p in _pgParameters) GradClip.ResetGrad(p);
    }

    public double[] Act(double[] observation, long envStep, bool eval)
    {
        using var scope = Autograd.Scope(); // every intermediate buffer goes back to the pool at the end
        bool learn = !eval && _cfg.PgEnabled && envStep >= _cfg.PgStartSteps;
        int horizon = Inner.PlanningHorizon(envStep);
        var obs = ObservationVar(observation);
        double[] action;
        if (learn)
        {
            var pgLoss = PolicyGradientLoss(obs, horizon, out var first);
            if (_pgTerms == 0) foreach (var p in _pgParameters) GradClip.ResetGrad(p);
            pgLoss.Backward();
            _pgTerms++;
            LastPgLoss = pgLoss.Item();
            if (_cfg.PgSchedule == "step") { ApplyPgStep(); _pgTerms = 0; }
            action = first;
        }
        else
        {
            using (Autograd.NoGrad()) action = Solve(obs, horizon, GradientMode.None).Value.ToDoubleArray()[..ActionDim];
        }
        if (!eval)
        {
            double std = Inner.ExplorationStd(envStep);
            for (int j = 0; j < action.Length; j++) action[j] = Math.Clamp(action[j] + std * Rng.NextNormal(), -1, 1);
        }
        return action;
    }

    private Var ObservationVar(double[] observation)
    {
        var p = Told.Encoder.Parameters()[0];
        return F.Constant(Tensor.FromDoubles(observation, new Shape(1, observation.Length), p.DType, p.Device));
    }

    /// <summary>
    /// L_PG = −min_i Q̃_i(s, a*(θ)_0) for one observation [1, obs], with a* connected to the model
    /// parameters through the solver as cfg.SolverGradient says. first: a*_0 as numbers.
    /// </summary>
    public Var PolicyGradientLoss(Var observation, int horizon, out double[] first)
    {
        var mode = _cfg.SolverGradient switch { "unrolled" => GradientMode.Unrolled, "implicit" => GradientMode.Implicit, _ => GradientMode.Truncated };
        var u = Solve(observation, horizon, mode);
        var a0 = F.Narrow(u, 1, 0, ActionDim);
        first = a0.Value.ToDoubleArray();
        var sa = F.Concat([observation, a0], -1);
        return -F.Mean(F.Minimum(QTilde1.Forward(sa), QTilde2.Forward(sa)));
    }

    /// <summary>a*(θ) [1, H·m]: LM on the scalar residual r = −G + offset, from the π rollout (or the shifted previous solution).</summary>
    public Var Solve(Var observation, int horizon, GradientMode mode)
    {
        var z0 = Told.Encode(observation);
        var init = InitialSequence(z0, horizon, differentiable: mode == GradientMode.Unrolled && Autograd.IsGradEnabled);
        if (_cfg.Solver == "ilqr") return SolveIlqr(z0, init, horizon, mode);
        ResidualFn residual = u =>
        {
            int rows = u.Shape[0];
            var z = F.Expand(z0, new Shape(rows, Told.LatentDim));
            var actions = F.Reshape(u, rows, horizon, ActionDim);
            Var? g = null;
            double discount = 1;
            for (int t = 0; t < horizon; t++)
            {
                var (next, reward) = Told.Next(z, F.Select(actions, 1, t));
                g = g is null ? reward : g + discount * reward;
                z = next;
                discount *= _cfg.Discount;
            }
            var (q1, q2) = Told.Q(z, Told.Policy(z, 0, Rng));
            return _cfg.ResidualOffset - (g! + discount * F.Minimum(q1, q2));
        };
        var result = LevenbergMarquardt.Solve(residual, init, new LmOptions
        {
            Iterations = _cfg.SolverIterations, Damping = _cfg.SolverDamping, StepSize = _cfg.SolverStepSize,
            Lower = -1, Upper = 1, Gradient = mode, TruncatedSteps = _cfg.SolverTruncatedSteps,
        });
        LastSolve = result;
        _previousSolution = result.U.Value.ToDoubleArray();
        return result.U;
    }

    /// <summary>
    /// The same problem for box-DDP iLQR: state z (latent), control a, dynamics d(z, a), stage cost
    /// −γ^t R(z_t, a_t), terminal cost −γ^H min_i Q_i(z_H, π(z_H)); gradients by the implicit rule at the
    /// solution (an LQR solve on the active set), whatever cfg.SolverGradient says.
    /// </summary>
    private Var SolveIlqr(Var z0, Var init, int horizon, GradientMode mode)
    {
        double gammaH = Math.Pow(_cfg.Discount, horizon);
        var problem = new TrajProblem(Told.LatentDim, ActionDim, horizon,
            dynamics: (z, a) => Told.Dynamics.Forward(F.Concat([z, a], -1)),
            stageCost: (z, a, t) => -Math.Pow(_cfg.Discount, t) * F.Reshape(Told.Reward.Forward(F.Concat([z, a], -1)), z.Shape[0]),
            terminalCost: z =>
            {
                var (q1, q2) = Told.Q(z, Told.Policy(z, 0, Rng));
                return -gammaH * F.Reshape(F.Minimum(q1, q2), z.Shape[0]);
            }).WithBounds(-1, 1);
        IlqrResult solution;
        using (Autograd.NoGrad())
        using (var uInit = init.Value.Reshape(new Shape(1, horizon, ActionDim)).Contiguous())
            solution = Ilqr.Solve(problem, z0.Value, uInit, new IlqrOptions { MaxIterations = _cfg.SolverIterations });
        var u = mode == GradientMode.None || !Autograd.IsGradEnabled
            ? F.Constant(solution.U)
            : IlqrImplicit.Attach(problem, z0, solution);
        var flat = F.Reshape(u, 1, horizon * ActionDim);
        LastSolve = new LmResult(flat, solution.Status, 0);
        _previousSolution = flat.Value.ToDoubleArray();
        return flat;
    }

    /// <summary>
    /// The π rollout from z0 as [1, H·m]. It is a constant except for unrolled gradients, where the whole
    /// computation (initialization included) is differentiated, as finite differences see it.
    /// </summary>
    private Var InitialSequence(Var z0, int horizon, bool differentiable)
    {
        using var scope = differentiable ? null : Autograd.NoGrad();
        var z = differentiable ? z0 : z0.Detach();
        var steps = new Var[horizon];
        for (int t = 0; t < horizon; t++)
        {
            steps[t] = Told.Policy(z, 0, Rng);
            if (t + 1 < horizon) z = Told.Next(z, steps[t]).Next;
        }
        var sequence = F.Reshape(F.Concat(steps, -1), 1, horizon * ActionDim);
        if (_cfg.SolverInit == "shift" && _previousSolution is { } previous)
        {
            // The previous solution shifted by one step; the last step stays π's.
            var values = sequence.Value.ToDoubleArray();
            int keep = Math.Min(horizon - 1, previous.Length / ActionDim - 1);
            Array.Copy(previous, ActionDim, values, 0, keep * ActionDim);
            return F.Constant(Tensor.FromDoubles(values, sequence.Shape, z0.DType, z0.Device));
        }
        return differentiable ? sequence : F.Constant(sequence.Value);
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
