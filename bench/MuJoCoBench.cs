using System.Diagnostics;
using DiffTori.Bench.Harness;
using DiffTori.Envs.MuJoCo;
using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Bench;

/// <summary>
/// The MuJoCo part of the envs benchmark. (1) Binding overhead: mj_step in a C# loop through our binding versus a
/// plain C loop of mj_step on the same model, compiled at bench time with the system C compiler (target ≤ 10%).
/// (2) Agent steps per second of every MuJoCo task under a uniform random policy.
/// Call <see cref="Run"/> from the envs suite; it prints a table and returns the rows.
/// </summary>
public static class MuJoCoBench
{
    /// <summary>One measurement: workload, unit, our value, the C baseline (NaN when none) and the overhead in %.</summary>
    public sealed record Row(string Workload, string Unit, double Value, double Baseline, double OverheadPercent);

    /// <summary>Runs both parts. stepsPerRep: mj_step calls per timed repetition; reps: best-of repetitions.</summary>
    public static IReadOnlyList<Row> Run(int stepsPerRep = 5000, int reps = 10, TextWriter? log = null)
    {
        log ??= Console.Out;
        var rows = new List<Row>();
        if (!MjRuntime.IsAvailable)
        {
            log.WriteLine($"mujoco bench skipped: {MjRuntime.UnavailableReason}");
            return rows;
        }
        string? compilerProblem = CLoop.Problem();
        if (compilerProblem is not null) log.WriteLine($"binding-overhead part skipped: {compilerProblem}");
        else
            foreach (string model in new[] { "pendulum", "cheetah", "walker", "hopper" })
                rows.Add(BindingOverhead(model, stepsPerRep, reps));

        foreach (string task in MuJoCoTasks.Names)
            rows.Add(TaskThroughput(task, episodes: 3));

        log.WriteLine($"{"workload",-40} {"unit",-14} {"ours",12} {"C loop",12} {"overhead",9}");
        foreach (var r in rows)
            log.WriteLine($"{r.Workload,-40} {r.Unit,-14} {r.Value,12:F1} {(double.IsNaN(r.Baseline) ? "" : r.Baseline.ToString("F1")),12} " +
                          $"{(double.IsNaN(r.OverheadPercent) ? "" : r.OverheadPercent.ToString("+0.0;-0.0") + "%"),9}");
        return rows;
    }

    /// <summary>
    /// The rows in the bench harness's form, for the envs suite's table and bench/results/envs.json: OursMs is
    /// milliseconds per mj_step (overhead rows) or per env step (task rows); Ratio is ours / C loop.
    /// </summary>
    public static IReadOnlyList<BenchResult> ToBenchResults(IReadOnlyList<Row> rows) => rows.Select(r => r.Unit == "ns/step"
        ? new BenchResult(r.Workload, r.Value / 1e6, null, r.Value / r.Baseline, null,
                          $"C loop {r.Baseline:F0} ns/step, overhead {r.OverheadPercent:+0.0;-0.0}%")
        : new BenchResult(r.Workload, 1e3 / r.Value, null, null, null, $"{r.Value:N0} env steps/s")).ToArray();

    /// <summary>ns per mj_step: C# loop through the binding vs the C loop, alternating runs, best of reps each.</summary>
    public static Row BindingOverhead(string modelName, int steps, int reps)
    {
        string xml = MuJoCoModels.Xml(modelName);
        using var c = new CLoop(xml);
        using var model = MjModel.FromXml(xml);
        using var data = model.MakeData();
        double best = double.PositiveInfinity, bestC = double.PositiveInfinity;
        ManagedLoop(data, Math.Min(steps, 2000)); // JIT and caches
        for (int r = 0; r < reps; r++)
        {
            best = Math.Min(best, ManagedLoop(data, steps));
            bestC = Math.Min(bestC, c.NanosecondsPerStep(steps));
        }
        return new Row($"mj_step {modelName} (binding vs C)", "ns/step", best, bestC, 100 * (best / bestC - 1));
    }

    /// <summary>Same work as the C program: reset, then `steps` mj_step calls with zero controls.</summary>
    private static double ManagedLoop(MjData data, int steps)
    {
        data.Reset();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < steps; i++) data.Step();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / steps;
    }

    /// <summary>
    /// Agent steps per second of a task under a uniform random policy (reward and observation included): the best
    /// of `episodes` timed 1000-step episodes after a short warm-up, since other processes only ever slow a run down.
    /// </summary>
    public static Row TaskThroughput(string task, int episodes)
    {
        using var env = MuJoCoTasks.Make(task);
        var random = new Random(1);
        var action = new double[env.ActionSpace.Dimension];
        env.Reset(0);
        for (int i = 0; i < 100; i++) env.Step(action); // JIT and caches
        double best = 0;
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(e + 1);
            int steps = 0;
            long start = Stopwatch.GetTimestamp();
            for (bool done = false; !done; steps++)
            {
                for (int i = 0; i < action.Length; i++) action[i] = 2 * random.NextDouble() - 1;
                done = env.Step(action).Done;
            }
            best = Math.Max(best, steps / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return new Row($"{task} random policy", "env steps/s", best, double.NaN, double.NaN);
    }

    /// <summary>A C program timing mj_step on one model, written to a temp folder and compiled with gcc.</summary>
    private sealed class CLoop : IDisposable
    {
        private const string Source = """
            #include <stdio.h>
            #include <stdlib.h>
            #include <time.h>
            #include <mujoco/mujoco.h>
            /* usage: loop MODEL.xml STEPS  -> prints nanoseconds per mj_step (after mj_resetData) */
            int main(int argc, char** argv) {
              char error[1000];
              mjModel* m = mj_loadXML(argv[1], NULL, error, sizeof(error));
              if (!m) { fprintf(stderr, "%s\n", error); return 1; }
              mjData* d = mj_makeData(m);
              int steps = atoi(argv[2]);
              for (int i = 0; i < 2000 && i < steps; i++) mj_step(m, d); /* warm caches like the C# side */
              mj_resetData(m, d);
              struct timespec a, b;
              clock_gettime(CLOCK_MONOTONIC, &a);
              for (int i = 0; i < steps; i++) mj_step(m, d);
              clock_gettime(CLOCK_MONOTONIC, &b);
              printf("%.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / steps);
              mj_deleteData(d);
              mj_deleteModel(m);
              return 0;
            }
            """;

        private readonly string _dir, _exe, _model;

        public CLoop(string xml)
        {
            _dir = Directory.CreateTempSubdirectory("difftori-mjbench-").FullName;
            _exe = Path.Combine(_dir, "loop");
            _model = Path.Combine(_dir, "model.xml");
            File.WriteAllText(_model, xml);
            string src = Path.Combine(_dir, "loop.c");
            File.WriteAllText(src, Source);
            Exec("gcc", $"-O2 -o {_exe} {src} -l:{MjRuntime.LibraryName}");
        }

        /// <summary>Null when gcc and the MuJoCo headers are present, else what is missing.</summary>
        public static string? Problem()
        {
            bool gcc = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "gcc")));
            if (!gcc) return "gcc not found (needed to compile the C baseline)";
            if (!File.Exists("/usr/include/mujoco/mujoco.h")) return "MuJoCo headers missing: sudo apt-get install -y libmujoco-dev";
            return null;
        }

        public double NanosecondsPerStep(int steps) =>
            double.Parse(Exec(_exe, $"{_model} {steps}").Trim(), System.Globalization.CultureInfo.InvariantCulture);

        private static string Exec(string file, string args)
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"MuJoCoBench: '{file} {args}' failed ({p.ExitCode}): {stderr}");
            return stdout;
        }

        public void Dispose() => Directory.Delete(_dir, recursive: true);
    }
}
