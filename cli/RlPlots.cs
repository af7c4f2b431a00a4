using System.Globalization;
using DiffTori.Rl;
using DiffTori.Rl.Training;

namespace DiffTori.Cli;

/// <summary>One agent's evaluation curve over seeds: mean, min and max at the eval steps every seed reached.</summary>
internal sealed record AgentCurve(string Label, int Seeds, double[] Steps, double[] Mean, double[] Min, double[] Max);

/// <summary>Learning-curve PNGs (ScottPlot): one run, or several runs with the published curves of the same task.</summary>
internal static class RlPlots
{
    /// <summary>Evaluation return against env steps from a run's metrics.csv.</summary>
    public static (double[] Steps, double[] Returns) EvalCurve(string runFolder)
    {
        var rows = MetricsLog.ReadCsv(Path.Combine(runFolder, "metrics.csv")).Where(r => r.Kind == "eval").ToList();
        return (rows.Select(r => r.Values["env_step"]).ToArray(), rows.Select(r => r.Values["eval_return"]).ToArray());
    }

    public static void LearningCurve(string runFolder, string pngPath)
    {
        var (steps, returns) = EvalCurve(runFolder);
        var plot = new ScottPlot.Plot();
        if (steps.Length > 0) plot.Add.Scatter(steps, returns).LegendText = RunName(runFolder);
        Finish(plot, "evaluation return", pngPath);
    }

    /// <summary>The resolved config of a run folder; a path that is not one gets an error naming it.</summary>
    private static RlConfig RunConfig(string run)
    {
        if (!Directory.Exists(run)) throw new ArgumentException($"compare: '{run}' is not a run folder (no such directory)");
        string path = Path.Combine(run, "config.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"compare: '{run}' is not a run folder (it has no config.json)", path);
        return RlConfig.FromJson(File.ReadAllText(path));
    }

    /// <summary>
    /// Runs grouped by agent (seeds of one agent become one mean curve with a min–max band), the published
    /// curves of the task as dashed lines over the steps the runs cover, and a table on stdout.
    /// </summary>
    public static void Compare(IReadOnlyList<string> runs, string? publishedFolder, string? task, string pngPath)
    {
        var configs = runs.Select(r => (Run: r, Config: RunConfig(r))).ToList();
        var tasks = configs.Select(c => c.Config.Task).Distinct().ToList();
        if (task is null && tasks.Count > 1)
            throw new ArgumentException($"compare: the runs are of different tasks ({string.Join(", ", tasks)}); pass --task or compare one task at a time");
        task ??= tasks.FirstOrDefault();
        var curves = configs.GroupBy(c => c.Config.Agent, StringComparer.Ordinal)
            .Select(g => AgentCurveOf(g.Key, g.Select(c => c.Run).ToList()))
            .ToList();

        var plot = new ScottPlot.Plot();
        double lastRunStep = 0;
        Console.WriteLine($"{task}: evaluation return, mean over seeds [min, max]");
        foreach (var curve in curves)
        {
            if (curve.Steps.Length == 0) continue;
            lastRunStep = Math.Max(lastRunStep, curve.Steps[^1]);
            var band = plot.Add.FillY(curve.Steps, curve.Min, curve.Max);
            var line = plot.Add.Scatter(curve.Steps, curve.Mean);
            line.LegendText = $"{curve.Label} (ours, {curve.Seeds} seed{(curve.Seeds == 1 ? "" : "s")})";
            band.FillColor = line.Color.WithAlpha(0.2);
            band.LineWidth = 0;
            Console.WriteLine($"  {curve.Label,-10} ours       at {curve.Steps[^1],7:0} steps: {curve.Mean[^1],6:0} [{curve.Min[^1]:0}, {curve.Max[^1]:0}] ({curve.Seeds} seeds)");
        }
        if (publishedFolder is not null && task is not null)
            foreach (var algorithmDir in Directory.GetDirectories(publishedFolder).OrderBy(d => d, StringComparer.Ordinal))
            {
                string csv = Path.Combine(algorithmDir, task + ".csv");
                if (!File.Exists(csv)) continue;
                var published = PublishedCurve(Path.GetFileName(algorithmDir), csv);
                // Only the stretch the runs cover (plus the next published point), so short runs stay readable.
                int keep = 0;
                while (keep < published.Steps.Length && (lastRunStep <= 0 || keep == 0 || published.Steps[keep - 1] < lastRunStep)) keep++;
                var line = plot.Add.Scatter(published.Steps[..keep], published.Mean[..keep]);
                line.LegendText = $"{published.Label} (published, {published.Seeds} seeds)";
                line.LinePattern = ScottPlot.LinePattern.Dashed;
                int at = keep - 1;
                Console.WriteLine($"  {published.Label,-10} published  at {published.Steps[at],7:0} steps: {published.Mean[at],6:0} [{published.Min[at]:0}, {published.Max[at]:0}] ({published.Seeds} seeds)");
            }
        Finish(plot, task ?? "evaluation return", pngPath);
    }

    /// <summary>One agent's runs aggregated at the eval steps that every run reached (runs may be cut short at different points).</summary>
    public static AgentCurve AgentCurveOf(string label, IReadOnlyList<string> runs)
    {
        var perRun = runs.Select(r =>
        {
            var (steps, returns) = EvalCurve(r);
            var byStep = new Dictionary<double, double>();
            for (int i = 0; i < steps.Length; i++) byStep[steps[i]] = returns[i];
            return byStep;
        }).ToList();
        var common = perRun.Skip(1).Aggregate(new SortedSet<double>(perRun[0].Keys), (set, next) => { set.IntersectWith(next.Keys); return set; }).ToArray();
        var values = common.Select(s => perRun.Select(r => r[s]).ToArray()).ToArray();
        return new AgentCurve(label, runs.Count, common, values.Select(v => v.Average()).ToArray(),
            values.Select(v => v.Min()).ToArray(), values.Select(v => v.Max()).ToArray());
    }

    /// <summary>
    /// Mean, min and max over seeds at each step of a published CSV: columns step,reward,seed (TD-MPC2's results)
    /// or seed,step,return (TD-MPC's), found by header name.
    /// </summary>
    public static AgentCurve PublishedCurve(string label, string csvPath)
    {
        var lines = File.ReadAllLines(csvPath);
        var header = lines[0].Split(',');
        int step = Array.IndexOf(header, "step");
        int value = Array.IndexOf(header, "reward") >= 0 ? Array.IndexOf(header, "reward") : Array.IndexOf(header, "return");
        if (step < 0 || value < 0) throw new InvalidDataException($"rl compare: '{csvPath}' needs a 'step' and a 'reward' or 'return' column");
        var byStep = new SortedDictionary<double, List<double>>();
        for (int row = 1; row < lines.Length; row++)
        {
            var cells = lines[row].Split(',');
            if (cells.Length <= Math.Max(step, value)) continue;
            if (!double.TryParse(cells[step], NumberStyles.Float, CultureInfo.InvariantCulture, out double s) ||
                !double.TryParse(cells[value], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                throw new InvalidDataException($"rl compare: '{csvPath}' line {row + 1} is not numeric: '{lines[row]}'");
            if (!byStep.TryGetValue(s, out var list)) byStep[s] = list = [];
            list.Add(v);
        }
        int seeds = byStep.Count == 0 ? 0 : byStep.Values.Max(l => l.Count);
        return new AgentCurve(label, seeds, byStep.Keys.ToArray(), byStep.Values.Select(l => l.Average()).ToArray(),
            byStep.Values.Select(l => l.Min()).ToArray(), byStep.Values.Select(l => l.Max()).ToArray());
    }

    /// <summary>A run's folder name, also when given with a trailing slash.</summary>
    public static string RunName(string runFolder) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(runFolder)));

    private static void Finish(ScottPlot.Plot plot, string title, string pngPath)
    {
        plot.Title(title);
        plot.XLabel("environment steps");
        plot.YLabel("episode return");
        plot.ShowLegend();
        string? dir = Path.GetDirectoryName(Path.GetFullPath(pngPath));
        if (dir is not null) Directory.CreateDirectory(dir);
        plot.SavePng(pngPath, 900, 550);
    }
}
