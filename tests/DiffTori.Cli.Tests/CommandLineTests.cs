using DiffTori.Envs;

namespace DiffTori.Cli.Tests;

/// <summary>
/// The `difftori` verbs end to end through Program.Main. Console output is redirected, so these tests
/// live in one class (xunit runs a class's tests one at a time).
/// </summary>
public class CommandLineTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = Program.Main(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    private static string TempFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "difftori-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void EnvsListPrintsEveryRegisteredTask()
    {
        var (code, output, _) = Run("envs", "list");
        Assert.Equal(0, code);
        foreach (string name in EnvRegistry.Names) Assert.Contains(name, output);
    }

    [Fact]
    public void UnknownVerbIsAnErrorThatNamesIt()
    {
        var (code, _, error) = Run("frobnicate");
        Assert.Equal(2, code);
        Assert.Contains("'frobnicate'", error);
    }

    [Fact]
    public void TrainWritesARunFolderAndRefusesToOverwriteIt()
    {
        string root = TempFolder();
        string run = Path.Combine(root, "run");
        try
        {
            var (code, output, error) = Run("rl", "train", "--task", "cartpole-swingup", "--agent", "sac", "--steps", "1000", "--out", run);
            Assert.True(code == 0, error);
            Assert.Contains("done: 1000 env steps", output);
            foreach (string file in new[] { "config.json", "metrics.jsonl", "metrics.csv", "curve.png" })
                Assert.True(File.Exists(Path.Combine(run, file)), $"{file} missing from the run folder");
            string config = File.ReadAllText(Path.Combine(run, "config.json"));
            string metrics = File.ReadAllText(Path.Combine(run, "metrics.csv"));

            var second = Run("rl", "train", "--task", "cartpole-swingup", "--agent", "sac", "--steps", "1000", "--out", run);
            Assert.Equal(2, second.Code);
            Assert.Contains("already holds a run", second.Err);
            Assert.Contains("--resume", second.Err);
            Assert.Equal(config, File.ReadAllText(Path.Combine(run, "config.json")));
            Assert.Equal(metrics, File.ReadAllText(Path.Combine(run, "metrics.csv")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void TrainWithSeveralEnvironments_RecordsNumEnvs_AndResumeKeepsIt()
    {
        string root = TempFolder();
        string run = Path.Combine(root, "run");
        string config = Path.Combine(root, "tiny.json");
        File.WriteAllText(config, """
            {"episode_limit": 15, "action_repeat": 2, "seed_steps": 60, "eval_every": 120, "eval_episodes": 2,
             "checkpoint_every": 60, "buffer_capacity": 1000, "batch_size": 8, "latent_dim": 4, "hidden_dim": 8,
             "encoder_dim": 8, "horizon": 3, "plan_iterations": 2, "plan_samples": 16, "plan_elites": 4, "updates_per_step": 0.5}
            """);
        try
        {
            var (code, output, error) = Run("rl", "train", "--task", "pendulum-swingup", "--agent", "tdmpc", "--steps", "120",
                "--num-envs", "2", "--config", config, "--out", run);
            Assert.True(code == 0, error);
            Assert.Contains("done: 120 env steps", output);
            Assert.Contains("\"num_envs\": 2", File.ReadAllText(Path.Combine(run, "config.json")));
            var train = DiffTori.Rl.Training.MetricsLog.ReadCsv(Path.Combine(run, "metrics.csv")).Where(r => r.Kind == "train").ToList();
            Assert.Equal([60.0, 120], train.Select(r => r.Values["env_step"]));
            Assert.Equal([2.0, 4], train.Select(r => r.Values["episode"]));

            var changed = Run("rl", "train", "--resume", "--out", run, "--steps", "240", "--num-envs", "3");
            Assert.Equal(2, changed.Code);
            Assert.Contains("num_envs = 2", changed.Err);
            var resumed = Run("rl", "train", "--resume", "--out", run, "--steps", "240", "--num-envs", "2");
            Assert.True(resumed.Code == 0, resumed.Err);
            Assert.Contains("done: 240 env steps", resumed.Out);

            var bad = Run("rl", "train", "--task", "pendulum-swingup", "--num-envs", "0", "--out", Path.Combine(root, "other"));
            Assert.Equal(2, bad.Code);
            Assert.Contains("--num-envs", bad.Err);
            var (helpCode, _, help) = Run("rl", "--help");
            Assert.Equal(0, helpCode);
            Assert.Contains("--num-envs N", help);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void EvalOverridesChangeHowTheSavedAgentActs_ButNotItsNetworks()
    {
        string root = TempFolder();
        string run = Path.Combine(root, "run");
        string Overrides(string json)
        {
            string file = Path.Combine(root, $"o{Guid.NewGuid():N}.json");
            File.WriteAllText(file, json);
            return file;
        }
        try
        {
            string tiny = Overrides("""
                {"hidden_dim": 16, "encoder_dim": 16, "latent_dim": 8, "batch_size": 8, "seed_steps": 160,
                 "eval_every": 320, "eval_episodes": 1, "checkpoint_every": 320, "solver_iterations": 4}
                """);
            var train = Run("rl", "train", "--task", "cartpole-swingup", "--agent", "difftori", "--steps", "320", "--config", tiny, "--out", run);
            Assert.True(train.Code == 0, train.Err);
            double Score(string output) => double.Parse(output.Split("mean evaluation return ")[1], System.Globalization.CultureInfo.InvariantCulture);

            var plain = Run("rl", "eval", "--run", run, "--episodes", "2");
            Assert.True(plain.Code == 0, plain.Err);
            var same = Run("rl", "eval", "--run", run, "--episodes", "2", "--config", Overrides("""{"solver_iterations": 4}"""));
            Assert.Equal(Score(plain.Out), Score(same.Out));
            var bolder = Run("rl", "eval", "--run", run, "--episodes", "2", "--config", Overrides("""{"solver_iterations": 30, "solver_step_size": 0.5}"""));
            Assert.True(bolder.Code == 0, bolder.Err);
            Assert.NotEqual(Score(plain.Out), Score(bolder.Out));

            var refused = Run("rl", "eval", "--run", run, "--config", Overrides("""{"hidden_dim": 32}"""));
            Assert.Equal(2, refused.Code);
            Assert.Contains("'hidden_dim'", refused.Err);
            var typo = Run("rl", "eval", "--run", run, "--config", Overrides("""{"solver_iteratons": 3}"""));
            Assert.Equal(2, typo.Code);
            Assert.Contains("solver_iteratons", typo.Err);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void TrainWithoutATaskSaysWhatIsMissing()
    {
        var (code, _, error) = Run("rl", "train", "--agent", "sac");
        Assert.Equal(2, code);
        Assert.Contains("--task", error);
    }

    [Fact]
    public void AMissingConfigFileIsNamedWithItsOption()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"difftori-missing-{Guid.NewGuid():N}.json");
        var (code, _, error) = Run("rl", "train", "--task", "pendulum-swingup", "--agent", "sac", "--config", missing);
        Assert.Equal(2, code);
        Assert.Contains($"--config: no such file '{missing}'", error);
    }

    [Fact]
    public void CompareNamesAPathThatIsNotARunFolder()
    {
        string file = Path.GetTempFileName();
        string empty = Directory.CreateTempSubdirectory("difftori-norun-").FullName;
        try
        {
            var (code, _, error) = Run("rl", "compare", file);
            Assert.Equal(2, code);
            Assert.Contains($"'{file}' is not a run folder", error);
            (code, _, error) = Run("rl", "compare", empty);
            Assert.Equal(2, code);
            Assert.Contains("no config.json", error);
        }
        finally
        {
            File.Delete(file);
            Directory.Delete(empty);
        }
    }
}
