using DiffTori.Rl;
using DiffTori.Rl.Training;
using Spectre.Console;

namespace DiffTori.Cli;

/// <summary>
/// A live progress bar (steps, last episode return, last eval return, steps/s, ETA) when stdout is an
/// interactive terminal; plain log lines every few seconds otherwise (CI, redirected output).
/// </summary>
internal static class RlProgress
{
    public static TrainerState Train(RlConfig cfg, string runFolder, bool resume)
    {
        // Redraw curve.png after every evaluation, so a long run can be watched.
        double lastPlotted = double.NaN;
        void PlotIfNewEval(TrainingProgress p)
        {
            if (!double.IsFinite(p.LastEvalReturn) || p.LastEvalReturn.Equals(lastPlotted)) return;
            lastPlotted = p.LastEvalReturn;
            RlPlots.LearningCurve(runFolder, Path.Combine(runFolder, "curve.png"));
        }
        bool interactive = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") is null
            && AnsiConsole.Profile.Capabilities.Interactive;
        if (!interactive)
        {
            var last = DateTime.MinValue;
            return new Trainer(cfg, runFolder, p =>
            {
                PlotIfNewEval(p);
                if ((DateTime.UtcNow - last).TotalSeconds < 5 && p.EnvStep < p.TotalSteps) return;
                last = DateTime.UtcNow;
                Console.WriteLine(Describe(p) + $"  {p.EnvStep}/{p.TotalSteps}");
            }).Run(resume);
        }
        TrainerState result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"{cfg.Agent} {cfg.Task}", maxValue: cfg.Steps);
                result = new Trainer(cfg, runFolder, p =>
                {
                    PlotIfNewEval(p);
                    task.Value = Math.Min(p.EnvStep, p.TotalSteps);
                    task.Description = Markup.Escape($"{cfg.Agent} {cfg.Task} " + Describe(p));
                }).Run(resume);
                task.Value = cfg.Steps;
            });
        return result;
    }

    private static string Describe(TrainingProgress p) =>
        $"step {p.EnvStep} ep {p.Episode} return {Fmt(p.LastEpisodeReturn)} eval {Fmt(p.LastEvalReturn)} {p.StepsPerSecond:F0} steps/s";

    private static string Fmt(double x) => double.IsFinite(x) ? x.ToString("F1") : "-";
}
