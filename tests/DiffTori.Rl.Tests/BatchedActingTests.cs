using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.Rl.Agents;
using DiffTori.Rl.Training;

namespace DiffTori.Rl.Tests;

/// <summary>
/// ActBatch on B environments against B single-environment calls, each on its own slot: the same actions,
/// the same draws from every slot's stream, the same warm starts and (DiffTORI) the same accumulated
/// policy gradient.
/// </summary>
public class BatchedActingTests
{
    private const int ObsDim = 3, ActDim = 2;

    private static RlConfig Config(string agent, string planner = "mppi", string solver = "lm")
    {
        var cfg = EndToEndTests.Tiny(agent);
        cfg.Planner = planner;
        cfg.Solver = solver;
        cfg.SolverInit = "shift";
        cfg.PgSchedule = "episode";
        cfg.PgStartSteps = 1000;
        cfg.HorizonScheduleSteps = 0; // the full horizon from the first step: the warm start matters at once
        cfg.PlanSamples = 40;         // 5% of them: 2 π-rollout candidates per environment
        return cfg;
    }

    private static IAgent Make(RlConfig cfg)
    {
        var agent = Trainer.CreateAgent(cfg, ObsDim, ActDim);
        // Random (not zero-initialized) heads, so that rewards, values and the planners' choices differ between observations.
        var rng = new RandomGenerator(21);
        foreach (var p in agent.Model.Parameters()) Ops.FillNormal(p.Value, rng, 0, 0.4);
        return agent;
    }

    private static double[] Observation(int step, int slot) => [Math.Sin(1.3 * step + slot), Math.Cos(0.7 * step - 2 * slot), 0.2 * slot - 0.1 * step];

    /// <summary>Three rounds of acting for slots {2, 0, 3} (not in order, one slot skipped), batched on one agent and one at a time on a twin.</summary>
    private static void AssertBatchEqualsSingles(RlConfig cfg, long envStep, bool eval, double tolerance)
    {
        var batched = Make(cfg);
        var single = Make(cfg);
        int[] slots = [2, 0, 3];
        foreach (var slot in slots) { batched.BeginEpisode(slot); single.BeginEpisode(slot); }
        for (int round = 0; round < 3; round++)
        {
            var observations = slots.SelectMany(s => Observation(round, s)).ToArray();
            var actions = batched.ActBatch(observations, slots, envStep + round, eval);
            Assert.Equal(slots.Length * ActDim, actions.Length);
            for (int b = 0; b < slots.Length; b++)
            {
                var alone = single.ActBatch(Observation(round, slots[b]), [slots[b]], envStep + round, eval);
                for (int j = 0; j < ActDim; j++)
                    Assert.True(Math.Abs(alone[j] - actions[b * ActDim + j]) <= tolerance,
                        $"{cfg.Agent}: round {round}, slot {slots[b]}, action[{j}]: batched {actions[b * ActDim + j]} vs alone {alone[j]}");
            }
        }
        // Every slot drew exactly as many numbers from its stream as when acting alone.
        for (int slot = 0; slot <= 3; slot++) Assert.Equal(single.Streams[slot].Counter, batched.Streams[slot].Counter);
        if (!eval && cfg.Agent != "difftori") Assert.True(batched.Streams[2].Counter > 0, "exploration drew nothing from slot 2's stream");
    }

    [Theory]
    [InlineData("tdmpc", "mppi", "lm")]
    [InlineData("tdmpc", "cem", "lm")]
    [InlineData("difftori", "mppi", "lm")]
    [InlineData("difftori", "mppi", "ilqr")]
    [InlineData("sac", "mppi", "lm")]
    public void BatchedActions_EqualSingleEnvironmentActions(string agent, string planner, string solver)
    {
        var cfg = Config(agent, planner, solver);
        AssertBatchEqualsSingles(cfg, envStep: 200, eval: false, tolerance: 1e-6);
        AssertBatchEqualsSingles(cfg, envStep: 200, eval: true, tolerance: 1e-6);
    }

    [Fact]
    public void DiffToriPolicyGradient_OverABatch_IsTheSumOfTheSingleGradients()
    {
        var cfg = Config("difftori");
        cfg.PgStartSteps = 0;
        var batched = (DiffToriAgent)Make(cfg);
        var single = (DiffToriAgent)Make(cfg);
        int[] slots = [1, 0];
        foreach (var slot in slots) { batched.BeginEpisode(slot); single.BeginEpisode(slot); }
        for (int round = 0; round < 2; round++)
        {
            var actions = batched.ActBatch(slots.SelectMany(s => Observation(round, s)).ToArray(), slots, 100, eval: false);
            for (int b = 0; b < slots.Length; b++)
            {
                var alone = single.ActBatch(Observation(round, slots[b]), [slots[b]], 100, eval: false);
                for (int j = 0; j < ActDim; j++) Assert.Equal(alone[j], actions[b * ActDim + j], 6);
            }
        }
        // Per-episode schedule: nothing applied yet; the gradients summed over rounds and environments agree.
        Assert.Equal(0, batched.PgOptimizer.StepCount);
        var a = batched.Told.Parameters().Where(p => p.Grad is not null).ToList();
        var b2 = single.Told.Parameters().Where(p => p.Grad is not null).ToList();
        Assert.Equal(b2.Count, a.Count);
        Assert.NotEmpty(a);
        for (int i = 0; i < a.Count; i++)
        {
            var ga = a[i].Grad!.Value.ToDoubleArray();
            var gb = b2[i].Grad!.Value.ToDoubleArray();
            for (int k = 0; k < ga.Length; k++)
                Assert.True(Math.Abs(ga[k] - gb[k]) <= 1e-4 * (1 + Math.Abs(gb[k])), $"parameter {i}[{k}]: batched grad {ga[k]} vs summed singles {gb[k]}");
        }
        // One Adam step for the whole batch of episodes: the first EndEpisode applies it, the second finds nothing.
        batched.EndEpisode(1);
        batched.EndEpisode(0);
        Assert.Equal(1, batched.PgOptimizer.StepCount);
    }

    [Theory]
    [InlineData("mppi", false)]
    [InlineData("mppi", true)]
    [InlineData("cem", false)]
    public void TdMpcSingleEnvironmentAct_EqualsOneSamplingPlannerCall(string planner, bool eval)
    {
        // The pre-batching Act: one trajopt SamplingPlanner.Plan call over all iterations with the agent's generator.
        var cfg = Config("tdmpc", planner);
        var agent = (TdMpcAgent)Make(cfg);
        var twin = (TdMpcAgent)Make(cfg);
        var told = twin.Told;
        int horizon = cfg.Horizon, length = horizon * ActDim;
        var previous = new double[length];
        agent.BeginEpisode();
        for (int round = 0; round < 3; round++)
        {
            long envStep = 300 + round;
            var obs = Observation(round, 0);
            var actual = agent.Act(obs, envStep, eval);

            using var scope = Autograd.Scope();
            using var noGrad = Autograd.NoGrad();
            var rng = twin.Rng;
            var z0 = told.Encode(F.Constant(Tensor.FromDoubles(obs, new Shape(1, ObsDim))));
            int count = (int)(cfg.MixtureCoef * cfg.PlanSamples);
            Assert.Equal(2, count);
            var z = F.Expand(z0, new Shape(count, cfg.LatentDim));
            var steps = new Var[horizon];
            for (int t = 0; t < horizon; t++)
            {
                steps[t] = told.Policy(z, cfg.MinStd, rng);
                if (t + 1 < horizon) z = told.Next(z, steps[t]).Next;
            }
            using var policy = F.Stack(steps, 1).Value.Reshape(new Shape(1, count, horizon, ActDim)).Contiguous();
            var initial = new double[length];
            if (round > 0) Array.Copy(previous, ActDim, initial, 0, length - ActDim);
            using var initialMean = Tensor.FromDoubles(initial, new Shape(1, horizon, ActDim));
            Tensor Value(Tensor actions)
            {
                int rows = actions.Shape[0];
                var zt = F.Expand(z0, new Shape(rows, cfg.LatentDim));
                Var? g = null;
                double discount = 1;
                for (int t = 0; t < horizon; t++)
                {
                    var (next, reward) = told.Next(zt, F.Constant(actions.Select(1, t).Contiguous()));
                    g = g is null ? reward : g + discount * reward;
                    zt = next;
                    discount *= cfg.Discount;
                }
                var (q1, q2) = told.Q(zt, told.Policy(zt, cfg.MinStd, rng));
                return (g! + discount * F.Minimum(q1, q2)).Value.Reshape(new Shape(rows));
            }
            var plan = DiffTori.TrajOpt.SamplingPlanner.Plan(Value, initialMean, policy, rng, new DiffTori.TrajOpt.SamplingOptions
            {
                Method = planner == "cem" ? DiffTori.TrajOpt.SamplingMethod.Cem : DiffTori.TrajOpt.SamplingMethod.Mppi,
                Iterations = cfg.PlanIterations, Samples = cfg.PlanSamples, Elites = cfg.PlanElites, Temperature = cfg.Temperature,
                Momentum = cfg.Momentum, MaxStd = cfg.MaxStd, MinStd = twin.ExplorationStd(envStep), Explore = !eval,
            });
            Assert.Equal(plan.Action.ToDoubleArray(), actual);
            previous = plan.Mean.ToDoubleArray();
            Assert.Equal(twin.Rng.Counter, agent.Rng.Counter);
        }
    }

    [Fact]
    public void BadBatches_AreRejectedWithClearMessages()
    {
        var agent = Make(Config("sac"));
        var e = Assert.Throws<ArgumentException>(() => agent.ActBatch(new double[2 * ObsDim], [1, 1], 0, eval: true));
        Assert.Contains("appears twice", e.Message);
        e = Assert.Throws<ArgumentException>(() => agent.ActBatch(new double[ObsDim + 1], [0], 0, eval: true));
        Assert.Contains("observation values", e.Message);
        e = Assert.Throws<ArgumentException>(() => agent.ActBatch(new double[ObsDim], [-1], 0, eval: true));
        Assert.Contains("negative", e.Message);
    }

    [Fact]
    public void EnvStreams_SlotZeroIsTheAgentGenerator_ForksAreIndependentAndRestorable()
    {
        var main = new RandomGenerator(77);
        var streams = new EnvStreams(main);
        Assert.Same(main, streams[0]);
        var expected = main.Fork(3);
        Assert.Equal(expected.Seed, streams[3].Seed);
        Assert.Equal(4, streams.Count);
        Assert.NotEqual(streams[1].Seed, streams[2].Seed);
        streams[2].NextNormal(); streams[2].NextNormal(); streams[3].NextDouble();
        var restored = new EnvStreams(new RandomGenerator(77));
        restored.RestoreForkCounters(streams.ForkCounters());
        for (int slot = 1; slot <= 3; slot++)
        {
            Assert.Equal(streams[slot].Counter, restored[slot].Counter);
            Assert.Equal(streams[slot].NextNormal(), restored[slot].NextNormal());
        }
        // Batched noise: block b is what slot envs[b] alone would draw.
        var a = new EnvStreams(new RandomGenerator(5));
        var b = new EnvStreams(new RandomGenerator(5));
        using var batched = a.Normal([2, 0], 3, 2, 0.5, DType.Float64, Device.Cpu);
        using var two = Ops.Normal(new Shape(3, 2), b[2], 0, 0.5, DType.Float64);
        using var zero = Ops.Normal(new Shape(3, 2), b[0], 0, 0.5, DType.Float64);
        Assert.Equal(two.ToDoubleArray().Concat(zero.ToDoubleArray()), batched.ToDoubleArray());
    }
}
