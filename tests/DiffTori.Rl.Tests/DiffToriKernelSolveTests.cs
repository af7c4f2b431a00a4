using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.Rl.Agents;
using DiffTori.TrajOpt;

namespace DiffTori.Rl.Tests;

/// <summary>
/// DiffTORI's LM solve, whose unrecorded iterations run on the graph-free kernel of its planning residual,
/// against the same solve written directly over the TOLD model in Var ops (Told.Next, Told.Q, F.Minimum,
/// the mean policy) with every iteration through autodiff: the same solutions and the same truncated
/// gradients in the model's parameters, for a batch of environments.
/// </summary>
public class DiffToriKernelSolveTests
{
    private static RlConfig Config() => new()
    {
        Agent = "difftori", LatentDim = 6, HiddenDim = 20, EncoderDim = 12, Horizon = 3,
        SolverIterations = 12, SolverTruncatedSteps = 3, SolverStepSize = 0.3, SolverDamping = 0.5, ResidualOffset = 10,
    };

    private static DiffToriAgent Agent(RlConfig cfg)
    {
        var agent = new DiffToriAgent(observationDim: 3, actionDim: 2, cfg);
        var rng = new RandomGenerator(17);
        foreach (var p in agent.Model.Parameters()) Ops.FillNormal(p.Value, rng, 0, 0.4);
        return agent;
    }

    private static Var Observations() => F.Constant(Tensor.FromDoubles(
        [0.3, -0.5, 0.8, -0.9, 0.1, 0.4, 0.7, 0.6, -0.2], new Shape(3, 3), DType.Float32));

    /// <summary>The solve as DiffToriAgent wrote it before the kernel: its own residual closure, no kernel.</summary>
    private static Var ReferenceSolve(DiffToriAgent agent, RlConfig cfg, Var observation, GradientMode mode)
    {
        var told = agent.Told;
        int horizon = cfg.Horizon, m = agent.ActionDim, batch = observation.Shape[0];
        var z0 = told.Encode(observation);
        Var init;
        using (Autograd.NoGrad())
        {
            var z = z0.Detach();
            var steps = new Var[horizon];
            for (int t = 0; t < horizon; t++)
            {
                steps[t] = told.Policy(z, 0, agent.Rng);
                z = told.Next(z, steps[t]).Next;
            }
            init = F.Constant(F.Reshape(F.Concat(steps, -1), batch, horizon * m).Value);
        }
        ResidualFn residual = u =>
        {
            int rows = u.Shape[0];
            var z = F.Reshape(F.Expand(F.Unsqueeze(z0, 0), new Shape(rows / batch, batch, told.LatentDim)), rows, told.LatentDim);
            var actions = F.Reshape(u, rows, horizon, m);
            Var? g = null;
            double discount = 1;
            for (int t = 0; t < horizon; t++)
            {
                var (next, reward) = told.Next(z, F.Select(actions, 1, t));
                g = g is null ? reward : g + discount * reward;
                z = next;
                discount *= cfg.Discount;
            }
            var (q1, q2) = told.Q(z, told.Policy(z, 0, agent.Rng));
            return cfg.ResidualOffset - (g! + discount * F.Minimum(q1, q2));
        };
        return LevenbergMarquardt.Solve(residual, init, new LmOptions
        {
            Iterations = cfg.SolverIterations, Damping = cfg.SolverDamping, StepSize = cfg.SolverStepSize,
            Lower = -1, Upper = 1, Gradient = mode, TruncatedSteps = cfg.SolverTruncatedSteps,
        }).U;
    }

    [Fact]
    public void TheAgentsNetworksHaveAKernel()
    {
        var cfg = Config();
        var told = Agent(cfg).Told;
        var plan = new MlpShootingResidual(told.Dynamics, told.Reward, [told.Q1, told.Q2], told.Pi, tanhPolicy: true,
            told.LatentDim, 2, cfg.Horizon, cfg.Discount, cfg.ResidualOffset);
        Assert.Null(plan.KernelUnsupportedReason());
    }

    [Fact]
    public void BatchedSolutions_MatchTheAutodiffOnlySolve()
    {
        var cfg = Config();
        var agent = Agent(cfg);
        var obs = Observations();
        double[] expected, actual;
        using (Autograd.NoGrad())
        {
            expected = ReferenceSolve(agent, cfg, obs, GradientMode.None).Value.ToDoubleArray();
            actual = agent.Solve(obs, cfg.Horizon, GradientMode.None, [2, 0, 5]).Value.ToDoubleArray();
        }
        Assert.Equal(expected.Length, actual.Length);
        Assert.Contains(expected, v => Math.Abs(v) < 0.999); // not every coordinate pinned to the box
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4, $"u[{i}]: autodiff-only {expected[i]}, agent {actual[i]}");
    }

    [Fact]
    public void TruncatedGradients_MatchTheAutodiffOnlySolve()
    {
        var cfg = Config();
        var grads = new List<double[]>[2];
        for (int pass = 0; pass < 2; pass++)
        {
            var agent = Agent(cfg);
            var obs = Observations();
            var u = pass == 0 ? ReferenceSolve(agent, cfg, obs, GradientMode.Truncated) : agent.Solve(obs, cfg.Horizon, GradientMode.Truncated, [0, 1, 2]);
            var w = F.Constant(Tensor.FromDoubles(Enumerable.Range(0, u.Length).Select(i => Math.Sin(1.7 * i)).ToArray(), u.Shape, DType.Float32));
            F.Sum(u * w).Backward();
            grads[pass] = agent.Told.Parameters().Select(p => p.Grad?.Value.ToDoubleArray() ?? new double[p.Value.Length]).ToList();
        }
        Assert.Contains(grads[0], g => g.Any(v => Math.Abs(v) > 1e-6));
        for (int p = 0; p < grads[0].Count; p++)
        {
            double scale = grads[0][p].Select(Math.Abs).DefaultIfEmpty(0).Max();
            for (int i = 0; i < grads[0][p].Length; i++)
                Assert.True(Math.Abs(grads[0][p][i] - grads[1][p][i]) <= 2e-3 * (scale + 1e-4),
                    $"parameter {p}[{i}]: autodiff-only {grads[0][p][i]}, agent {grads[1][p][i]}");
        }
    }

    [Fact]
    public void EvaluationActsWithItsOwnStepSize_TrainingKeepsTheConfiguredOne()
    {
        double[] obs = [0.3, -0.5, 0.8, -0.9, 0.1, 0.4];
        double[] Act(RlConfig cfg, bool eval) => Agent(cfg).ActBatch(obs, [0, 1], envStep: 0, eval);
        var plain = Config();
        var small = Config(); small.SolverStepSize = 0.02;
        var split = Config(); split.SolverEvalStepSize = 0.02;
        foreach (var c in new[] { plain, small, split }) { c.PgEnabled = false; c.StdScheduleStart = c.StdScheduleEnd = 0; }

        Assert.Equal(Act(small, eval: true), Act(split, eval: true));     // evaluation: the evaluation step
        Assert.NotEqual(Act(plain, eval: true), Act(split, eval: true));
        Assert.Equal(Act(plain, eval: false), Act(split, eval: false));   // training: the configured step
        Assert.Throws<ArgumentException>(() => { var bad = Config(); bad.SolverEvalStepSize = 0; bad.Validate(); });
    }
}
