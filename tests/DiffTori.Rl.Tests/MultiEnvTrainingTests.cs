using DiffTori.Rl.Agents;
using DiffTori.Rl.Training;

namespace DiffTori.Rl.Tests;

/// <summary>Training with several environments in lockstep, and evaluation episodes run in parallel.</summary>
public class MultiEnvTrainingTests
{
    private static string TempRun() => Path.Combine(Path.GetTempPath(), $"difftori_rl_{Guid.NewGuid():N}");

    [Theory]
    [InlineData("difftori")]
    [InlineData("tdmpc")]
    public void TwoEnvironments_TrainEndToEnd_AndAKilledRunResumesExactly(string agent)
    {
        string straight = TempRun(), resumed = TempRun();
        try
        {
            var cfg = EndToEndTests.Tiny(agent);
            cfg.NumEnvs = 2;   // 2 × 15 agent steps × action repeat 2 = 60 env steps per round of episodes
            cfg.EvalEpisodes = 2;
            cfg.SolverInit = "shift"; // per-environment warm starts carried through every episode
            var final = new Trainer(cfg, straight).Run();
            Assert.Equal(240, final.EnvStep);
            Assert.Equal(8, final.Episode);
            Assert.NotNull(final.StreamCounters);
            Assert.True(final.StreamCounters!.Length >= 1 && final.StreamCounters[0] > 0, "slot 1 never drew from its stream");
            Assert.Contains("\"num_envs\": 2", File.ReadAllText(Path.Combine(straight, "config.json")));

            var killed = new Trainer(cfg, resumed).Run(stopAfterEnvStep: 120);
            Assert.Equal(120, killed.EnvStep);
            File.AppendAllText(Path.Combine(resumed, "metrics.csv"), "train,999,999,0,,0,0\n");
            new Trainer(RlConfig.FromJson(File.ReadAllText(Path.Combine(resumed, "config.json"))), resumed).Run(resume: true);

            var a = EndToEndTests.Comparable(straight);
            var b = EndToEndTests.Comparable(resumed);
            Assert.Equal(a.Count, b.Count);
            for (int i = 0; i < a.Count; i++) Assert.Equal(a[i], b[i]);

            var rows = MetricsLog.ReadCsv(Path.Combine(straight, "metrics.csv"));
            var train = rows.Where(r => r.Kind == "train").ToList();
            Assert.Equal([60.0, 120, 180, 240], train.Select(r => r.Values["env_step"]));  // every env step of both copies counts
            Assert.Equal([2.0, 4, 6, 8], train.Select(r => r.Values["episode"]));
            Assert.Equal(4, rows.Count(r => r.Kind == "eval")); // steps 0, 120 (due at 90), 180, 240
            Assert.Contains(train, r => double.IsFinite(r.Values["value_loss"]));
        }
        finally
        {
            if (Directory.Exists(straight)) Directory.Delete(straight, true);
            if (Directory.Exists(resumed)) Directory.Delete(resumed, true);
        }
    }

    [Fact]
    public void SameNumberOfUpdates_PerEnvironmentStep_WithOneOrTwoEnvironments()
    {
        // SAC's alpha optimizer steps once per update: count them after the same number of env steps.
        long UpdatesAfter(int numEnvs)
        {
            string run = TempRun();
            try
            {
                var cfg = EndToEndTests.Tiny("sac");
                cfg.NumEnvs = numEnvs;
                cfg.EvalEpisodes = 0;
                cfg.CheckpointEvery = 1000;
                var state = new Trainer(cfg, run).Run();
                Assert.Equal(240, state.EnvStep);
                var agent = (SacAgent)Trainer.CreateAgent(cfg, 3, 1);
                AgentCheckpoint.Load(AgentCheckpoint.Latest(run)!, agent, null);
                return agent.AlphaOptimizer.StepCount;
            }
            finally { if (Directory.Exists(run)) Directory.Delete(run, true); }
        }
        // Seed steps 60 = 30 agent steps; 240 env steps = 120 agent steps at 0.5 updates per step: 60 updates either way.
        Assert.Equal(60, UpdatesAfter(1));
        Assert.Equal(60, UpdatesAfter(2));
    }

    [Theory]
    [InlineData("tdmpc")]
    [InlineData("difftori")]
    [InlineData("sac")]
    public void ParallelEvaluation_EqualsEpisodesRunOneAfterAnother(string agentName)
    {
        var cfg = EndToEndTests.Tiny(agentName);
        cfg.Task = "cartpole-swingup"; // a dense reward: returns differ from episode to episode
        cfg.EvalEpisodes = 3;
        cfg.PlanSamples = 40;
        using var envs = Trainer.MakeEnvs(cfg, cfg.EvalEpisodes);
        IAgent Make()
        {
            var agent = Trainer.CreateAgent(cfg, envs.ObservationDimension, envs.ActionDimension);
            var rng = new DiffTori.Engine.RandomGenerator(8);
            foreach (var p in agent.Model.Parameters()) DiffTori.Engine.Ops.FillNormal(p.Value, rng, 0, 0.4);
            return agent;
        }
        var parallel = Make();
        var sequential = Make();
        double parallelMean = Trainer.Evaluate(parallel, envs, cfg, evalIndex: 2, envStep: 150);

        // Episode k alone, in slot k, on its own env.
        double sum = 0;
        for (int k = 0; k < cfg.EvalEpisodes; k++)
        {
            using var env = Trainer.MakeEnv(cfg);
            var obs = env.Reset(Trainer.EvalSeed(cfg.Seed, 2, k));
            sequential.BeginEpisode(k);
            while (true)
            {
                var result = env.Step(sequential.ActBatch(obs, [k], 150, eval: true));
                sum += result.Reward;
                obs = result.Observation;
                if (result.Done) break;
            }
        }
        Assert.Equal(sum / cfg.EvalEpisodes, parallelMean, 5);
        Assert.True(parallelMean > 0, $"cartpole-swingup returned {parallelMean}");
        for (int slot = 0; slot < 3; slot++) Assert.Equal(sequential.Streams[slot].Counter, parallel.Streams[slot].Counter);
    }
}
