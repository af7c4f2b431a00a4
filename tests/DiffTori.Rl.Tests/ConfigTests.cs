using DiffTori.Rl.Training;

namespace DiffTori.Rl.Tests;

public class ConfigTests
{
    [Fact]
    public void TaskTable_ThenUserOverrides_AndUnknownKeysAreRejected()
    {
        var cfg = TaskDefaults.Resolve("pendulum-swingup", "tdmpc", """{"plan_iterations": 9, "solver_damping": 0.25}""");
        Assert.Equal(DiffTori.Envs.EnvRegistry.Spec("pendulum-swingup").ActionRepeat, cfg.ActionRepeat);
        Assert.Equal(9, cfg.PlanIterations);
        Assert.Equal(0.25, cfg.SolverDamping);
        Assert.Equal(512, cfg.BatchSize);
        var e = Assert.Throws<ArgumentException>(() => TaskDefaults.Resolve("pendulum-swingup", "tdmpc", """{"plan_iteratons": 9}"""));
        Assert.Contains("plan_iteratons", e.Message);
        Assert.Throws<ArgumentException>(() => TaskDefaults.Resolve("pendulum-swingup", "ppo"));
        var roundTrip = RlConfig.FromJson(cfg.ToJson());
        Assert.Equal(cfg.ToJson(), roundTrip.ToJson());
    }

    [Fact]
    public void RunWithoutEvaluation_CheckpointsAndResumes()
    {
        string run = Path.Combine(Path.GetTempPath(), $"difftori_rl_{Guid.NewGuid():N}");
        try
        {
            var cfg = EndToEndTests.Tiny("sac");
            cfg.EvalEpisodes = 0;
            cfg.Steps = 120;
            new Trainer(cfg, run).Run(stopAfterEnvStep: 60);
            var final = new Trainer(cfg, run).Run(resume: true);
            Assert.Equal(120, final.EnvStep);
            Assert.Equal(4, MetricsLog.ReadCsv(Path.Combine(run, "metrics.csv")).Count(r => r.Kind == "train"));
        }
        finally { if (Directory.Exists(run)) Directory.Delete(run, true); }
    }
}
