using System.Globalization;
using DiffTori.Rl;
using DiffTori.Rl.Training;

namespace DiffTori.Cli;

/// <summary>
/// `difftori rl train|eval|compare`: train an agent into a run folder (config.json, metrics.jsonl,
/// metrics.csv, checkpoints/, curve.png), evaluate a run from its latest checkpoint, and plot
/// several runs' evaluation curves together with published ones.
/// </summary>
public static class RlCommand
{
    private const string Usage = """
        usage:
          difftori rl train --task NAME --agent difftori|tdmpc|sac [--steps N] [--seed S] [--device cpu|cuda]
                            [--num-envs N] [--config file.json] [--out runs/DIR] [--resume]
          difftori rl eval --run runs/DIR [--episodes N] [--config overrides.json]
          difftori rl compare runs/A runs/B ... [--published DIR] [--task NAME] [--out curves.png]

        --num-envs N   train on N copies of the task stepped in lockstep (config key num_envs, default 1):
                       one episode per copy per round, the agent acting for all N in one batched call; every
                       env step of every copy counts towards --steps, and the updates per env step stay as
                       configured. Evaluation always runs its eval_episodes episodes in parallel.
        eval --config  JSON overrides of how the saved agent acts, for this evaluation only (e.g.
                       {"solver_step_size": 1e-4}); keys that define the networks or the task are refused.
        """;

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "rl") args = args[1..];
        if (args.Length == 0 || args[0] is "-h" or "--help") { Console.Error.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        try
        {
            var options = CliOptions.Parse(args[1..]);
            return args[0] switch
            {
                "train" => Train(options),
                "eval" => Eval(options),
                "compare" => Compare(options),
                _ => Fail($"difftori rl: unknown command '{args[0]}'\n{Usage}"),
            };
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or InvalidDataException or InvalidOperationException)
        {
            return Fail($"difftori rl: {e.Message}");
        }
    }

    private static int Train(CliOptions o)
    {
        bool resume = o.Flag("resume");
        string? outDir = o.Value("out");
        RlConfig cfg;
        if (resume && outDir is not null && File.Exists(Path.Combine(outDir, "config.json")))
        {
            // A resumed run keeps its own resolved config; only --steps may extend it.
            cfg = RlConfig.FromJson(File.ReadAllText(Path.Combine(outDir, "config.json")));
            if (o.Value("steps") is { } s) cfg.Steps = long.Parse(s, CultureInfo.InvariantCulture);
            if (o.Value("num-envs") is { } n && ParseCount("num-envs", n) != cfg.NumEnvs)
                throw new ArgumentException($"--num-envs {n}: the run in '{outDir}' trains with num_envs = {cfg.NumEnvs}, and a resumed run keeps it");
        }
        else
        {
            string task = o.Value("task") ?? throw new ArgumentException("train needs --task NAME (see `difftori envs list`)");
            string agent = o.Value("agent") ?? "tdmpc";
            string? overrides = ConfigOverrides(o);
            cfg = TaskDefaults.Resolve(task, agent, overrides);
            if (o.Value("steps") is { } s) cfg.Steps = long.Parse(s, CultureInfo.InvariantCulture);
            if (o.Value("seed") is { } seed) cfg.Seed = int.Parse(seed, CultureInfo.InvariantCulture);
            if (o.Value("device") is { } device) cfg.Device = device;
            if (o.Value("num-envs") is { } n) cfg.NumEnvs = ParseCount("num-envs", n);
            cfg.Validate();
        }
        outDir ??= Path.Combine("runs", $"{cfg.Task}_{cfg.Agent}_s{cfg.Seed}");
        // Never train over an earlier run: its checkpoints and metrics would be lost.
        if (!resume && File.Exists(Path.Combine(outDir, "config.json")))
            throw new ArgumentException($"run folder '{outDir}' already holds a run; pass --resume to continue it, or choose another --out");
        var final = RlProgress.Train(cfg, outDir, resume);
        RlPlots.LearningCurve(outDir, Path.Combine(outDir, "curve.png"));
        Console.WriteLine($"done: {final.EnvStep} env steps, last eval return {final.LastEvalReturn:F1}; run folder {outDir}");
        return 0;
    }

    private static int Eval(CliOptions o)
    {
        string run = o.Value("run") ?? throw new ArgumentException("eval needs --run runs/DIR");
        int? episodes = o.Value("episodes") is { } e ? int.Parse(e, CultureInfo.InvariantCulture) : null;
        double score = Evaluation.EvaluateRun(run, episodes, ConfigOverrides(o));
        Console.WriteLine($"{run}: mean evaluation return {score:F2}");
        return 0;
    }

    /// <summary>The JSON text of --config (train: overrides of the task table; eval: of how the saved agent acts), or null.</summary>
    private static string? ConfigOverrides(CliOptions o)
    {
        if (o.Value("config") is not { } file) return null;
        if (!File.Exists(file)) throw new ArgumentException($"--config: no such file '{file}'");
        return File.ReadAllText(file);
    }

    private static int Compare(CliOptions o)
    {
        if (o.Positional.Count == 0) throw new ArgumentException("compare needs at least one run folder");
        string output = o.Value("out") ?? "compare.png";
        RlPlots.Compare(o.Positional, o.Value("published"), o.Value("task"), output);
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static int ParseCount(string option, string text) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 1
            ? n
            : throw new ArgumentException($"--{option} needs a positive whole number, got '{text}'");

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}

/// <summary>--key value pairs, --flags and positional arguments.</summary>
internal sealed class CliOptions
{
    private static readonly HashSet<string> Flags = ["resume"];
    private readonly Dictionary<string, string?> _named = new(StringComparer.Ordinal);
    public List<string> Positional { get; } = [];

    public static CliOptions Parse(string[] args)
    {
        var o = new CliOptions();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) { o.Positional.Add(args[i]); continue; }
            string key = args[i][2..];
            if (Flags.Contains(key)) { o._named[key] = null; continue; }
            if (i + 1 >= args.Length) throw new ArgumentException($"option --{key} needs a value");
            o._named[key] = args[++i];
        }
        return o;
    }

    public string? Value(string key) => _named.TryGetValue(key, out var v) ? v : null;
    public bool Flag(string key) => _named.ContainsKey(key);
}
