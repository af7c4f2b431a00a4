using DiffTori.Envs;
using DiffTori.Rl.Training;

namespace DiffTori.Rl.Tests;

public class EndToEndTests
{
    internal static RlConfig Tiny(string agent) => new()
    {
        Task = "pendulum-swingup", Agent = agent, Seed = 3, Steps = 240, ActionRepeat = 2, EpisodeLimit = 15,
        SeedSteps = 60, EvalEvery = 90, EvalEpisodes = 1, CheckpointEvery = 60, BufferCapacity = 1000,
        BatchSize = 8, SacBatchSize = 8, LatentDim = 4, HiddenDim = 8, EncoderDim = 8, SacHiddenDim = 8,
        Horizon = 3, HorizonScheduleSteps = 100, StdScheduleSteps = 100,
        PlanIterations = 2, PlanSamples = 16, PlanElites = 4, UpdatesPerStep = 0.5,
        SolverIterations = 3, SolverStepSize = 0.1, PgStartSteps = 90,
    };

    private static string TempRun() => Path.Combine(Path.GetTempPath(), $"difftori_rl_{Guid.NewGuid():N}");

    /// <summary>The rows of metrics.csv without the wall-clock columns (the only ones allowed to differ).</summary>
    internal static List<string> Comparable(string run)
    {
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        var header = lines[0].Split(',');
        int wall = Array.IndexOf(header, "wall_s"), speed = Array.IndexOf(header, "steps_per_s");
        return lines.Select(l => string.Join(",", l.Split(',').Where((_, i) => i != wall && i != speed))).ToList();
    }

    [Theory]
    [InlineData("tdmpc")]
    [InlineData("sac")]
    [InlineData("difftori")]
    public void KilledAndResumedRun_EqualsUninterruptedRun(string agent)
    {
        string straight = TempRun(), resumed = TempRun();
        try
        {
            var cfg = Tiny(agent);
            var final = new Trainer(cfg, straight).Run();
            Assert.Equal(240, final.EnvStep);

            var killed = new Trainer(cfg, resumed).Run(stopAfterEnvStep: 120);
            Assert.Equal(120, killed.EnvStep);
            // A killed process would also have written rows after its last checkpoint: simulate that.
            File.AppendAllText(Path.Combine(resumed, "metrics.csv"), "train,999,999,0,,0,0\n");
            new Trainer(RlConfig.FromJson(File.ReadAllText(Path.Combine(resumed, "config.json"))), resumed).Run(resume: true);

            var a = Comparable(straight);
            var b = Comparable(resumed);
            Assert.Equal(a.Count, b.Count);
            for (int i = 0; i < a.Count; i++) Assert.Equal(a[i], b[i]);

            var rows = MetricsLog.ReadCsv(Path.Combine(straight, "metrics.csv"));
            Assert.Equal(240 / 30, rows.Count(r => r.Kind == "train"));
            Assert.Equal(4, rows.Count(r => r.Kind == "eval")); // steps 0, 90, 180, 240
            Assert.Contains(rows, r => r.Kind == "train" && double.IsFinite(r.Values[agent == "sac" ? "critic_loss" : "value_loss"]));
            Assert.True(File.Exists(Path.Combine(straight, "metrics.jsonl")));
            Assert.NotNull(AgentCheckpoint.Latest(straight));

            // Evaluation from the saved checkpoint reproduces the last evaluation of the run.
            double evalReturn = Evaluation.EvaluateRun(straight, episodes: null);
            Assert.True(double.IsFinite(evalReturn));
        }
        finally
        {
            if (Directory.Exists(straight)) Directory.Delete(straight, true);
            if (Directory.Exists(resumed)) Directory.Delete(resumed, true);
        }
    }
}
