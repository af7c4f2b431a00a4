using System.Globalization;
using DiffTori.Rl;
using DiffTori.Rl.Training;

namespace DiffTori.Cli;

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
        if (steps.Length > 0) plot.Add.Scatter(steps, returns).LegendText = Path.GetFileName(Path.GetFullPath(runFolder));
        Finish(plot, "evaluation return", pngPath);
    }

    public static void Compare(IReadOnlyList<string> runs, string? publishedFolder, string? task, string pngPath)
    {
        var plot = new ScottPlot.Plot();
        double lastRunStep = 0;
        foreach (var run in runs)
        {
            var (steps, returns) = EvalCurve(run);
            if (steps.Length > 0) lastRunStep = Math.Max(lastRunStep, steps[^1]);
            if (steps.Length > 0) plot.Add.Scatter(steps, returns).LegendText = Path.GetFileName(Path.GetFullPath(run));
            task ??= RlConfig.FromJson(File.ReadAllText(Path.Combine(run, "config.json"))).Task;
        }
        if (publishedFolder is not null && task is not null)
            foreach (var algorithmDir in Directory.GetDirectories(publishedFolder).OrderBy(d => d, StringComparer.Ordinal))
            {
                string csv = Path.Combine(algorithmDir, task + ".csv");
                if (!File.Exists(csv)) continue;
                var (steps, mean) = PublishedMean(csv);
                // Only the stretch the runs cover (plus the next published point), so short runs stay readable.
                int keep = 0;
                while (keep < steps.Length && (lastRunStep <= 0 || keep == 0 || steps[keep - 1] < lastRunStep)) keep++;
                steps = steps[..keep]; mean = mean[..keep];
                var line = plot.Add.Scatter(steps, mean);
                line.LegendText = $"{Path.GetFileName(algorithmDir)} (published, mean of seeds)";
                line.LinePattern = ScottPlot.LinePattern.Dashed;
            }
        Finish(plot, task ?? "evaluation return", pngPath);
    }

    /// <summary>
    /// Mean over seeds at each step of a published CSV: columns step,reward,seed (TD-MPC2's results) or
    /// seed,step,return (TD-MPC's), found by header name.
    /// </summary>
    public static (double[] Steps, double[] Mean) PublishedMean(string csvPath)
    {
        var lines = File.ReadAllLines(csvPath);
        var header = lines[0].Split(',');
        int step = Array.IndexOf(header, "step");
        int value = Array.IndexOf(header, "reward") >= 0 ? Array.IndexOf(header, "reward") : Array.IndexOf(header, "return");
        if (step < 0 || value < 0) throw new InvalidDataException($"rl compare: '{csvPath}' needs a 'step' and a 'reward' or 'return' column");
        var byStep = new SortedDictionary<double, (double Sum, int Count)>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            if (cells.Length <= Math.Max(step, value)) continue;
            double s = double.Parse(cells[step], CultureInfo.InvariantCulture), v = double.Parse(cells[value], CultureInfo.InvariantCulture);
            var (sum, count) = byStep.GetValueOrDefault(s);
            byStep[s] = (sum + v, count + 1);
        }
        return (byStep.Keys.ToArray(), byStep.Values.Select(x => x.Sum / x.Count).ToArray());
    }

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
