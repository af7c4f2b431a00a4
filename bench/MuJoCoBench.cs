using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using DiffTori.Bench.Harness;
using DiffTori.Envs.MuJoCo;
using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Bench;

/// <summary>
/// The MuJoCo part of the envs benchmark.
/// (1) Binding overhead: mj_step in a C# loop through our binding against two C baselines compiled at bench time
///     with the system C compiler from sources written to a temp folder: a standalone C program that loads the same
///     model and times its own mj_step loop, and the same loop built as a shared library and called once from this
///     process on the very same mjModel/mjData (isolates the per-call cost from process and memory-layout effects).
///     Target: ≤ 10% overhead.
/// (2) Agent steps per second of every MuJoCo task under a uniform random policy.
/// Call <see cref="Run"/> (or <see cref="ToBenchResults"/> on its rows) from the envs suite.
/// </summary>
public static unsafe class MuJoCoBench
{
    /// <summary>One measurement: workload, unit, our value, the C baseline (NaN when none) and the overhead in %.</summary>
    public sealed record Row(string Workload, string Unit, double Value, double Baseline, double OverheadPercent);

    /// <summary>
    /// Runs both parts and prints a table. stepsPerRep: mj_step calls per timed repetition (each from a reset, so every
    /// repetition does identical work); reps: best-of count. Many short repetitions make the minimum robust on a busy machine.
    /// </summary>
    public static IReadOnlyList<Row> Run(int stepsPerRep = 300, int reps = 60, TextWriter? log = null)
    {
        log ??= Console.Out;
        var rows = new List<Row>();
        if (!MjRuntime.IsAvailable)
        {
            log.WriteLine($"mujoco bench skipped: {MjRuntime.UnavailableReason}");
            return rows;
        }
        string? compilerProblem = CBaseline.Problem();
        if (compilerProblem is not null) log.WriteLine($"binding-overhead part skipped: {compilerProblem}");
        else
        {
            using var c = new CBaseline();
            foreach (string model in new[] { "pendulum", "cheetah", "walker", "hopper" })
                rows.AddRange(BindingOverhead(c, model, stepsPerRep, reps));
        }

        foreach (string task in MuJoCoTasks.Names)
            rows.Add(TaskThroughput(task, episodes: 3));

        log.WriteLine($"{"workload",-46} {"unit",-12} {"ours",12} {"C",12} {"overhead",9}");
        foreach (var r in rows)
            log.WriteLine($"{r.Workload,-46} {r.Unit,-12} {r.Value,12:F1} {(double.IsNaN(r.Baseline) ? "" : r.Baseline.ToString("F1")),12} " +
                          $"{(double.IsNaN(r.OverheadPercent) ? "" : r.OverheadPercent.ToString("+0.0;-0.0") + "%"),9}");
        return rows;
    }

    /// <summary>
    /// The rows in the bench harness's form, for the envs suite's table and bench/results/envs.json: OursMs is
    /// milliseconds per mj_step (overhead rows) or per env step (task rows); Ratio is ours / C.
    /// </summary>
    public static IReadOnlyList<BenchResult> ToBenchResults(IReadOnlyList<Row> rows) => rows.Select(r => r.Unit == "ns/step"
        ? new BenchResult(r.Workload, r.Value / 1e6, null, r.Value / r.Baseline, null,
                          $"C {r.Baseline:F0} ns/step, overhead {r.OverheadPercent:+0.0;-0.0}%")
        : new BenchResult(r.Workload, 1e3 / r.Value, null, null, null, $"{r.Value:N0} env steps/s")).ToArray();

    /// <summary>
    /// ns per mj_step of the C# loop against the in-process C loop (same data) and the standalone C program,
    /// runs alternating, best of reps for each (other processes on the machine only ever slow a run down).
    /// </summary>
    public static Row[] BindingOverhead(CBaseline c, string modelName, int steps, int reps)
    {
        string xml = MuJoCoModels.Xml(modelName);
        string modelFile = c.WriteModel(modelName, xml);
        using var model = MjModel.FromXml(xml);
        using var data = model.MakeData();
        double ours = double.PositiveInfinity, inProcess = double.PositiveInfinity, program = double.PositiveInfinity;
        ManagedLoop(data, Math.Min(steps, 2000)); // JIT and caches
        c.InProcessLoop(model, data, Math.Min(steps, 2000));
        for (int r = 0; r < reps; r++)
        {
            ours = Math.Min(ours, ManagedLoop(data, steps));
            inProcess = Math.Min(inProcess, c.InProcessLoop(model, data, steps));
            program = Math.Min(program, c.ProgramLoop(modelFile, steps));
        }
        return
        [
            new Row($"mj_step {modelName}: binding vs C loop, same data", "ns/step", ours, inProcess, 100 * (ours / inProcess - 1)),
            new Row($"mj_step {modelName}: binding vs C program", "ns/step", ours, program, 100 * (ours / program - 1)),
        ];
    }

    /// <summary>Reset, then `steps` mj_step calls with zero controls, through the binding.</summary>
    private static double ManagedLoop(MjData data, int steps)
    {
        data.Reset();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < steps; i++) data.Step();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / steps;
    }

    /// <summary>
    /// Agent steps per second of a task under a uniform random policy (reward and observation included): the best
    /// of `episodes` timed 1000-step episodes after a short warm-up.
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

    /// <summary>The C baselines: built with gcc -O2 in a temp folder, deleted on Dispose.</summary>
    public sealed class CBaseline : IDisposable
    {
        private const string Source = """
            #include <stdio.h>
            #include <stdlib.h>
            #include <time.h>
            #include <mujoco/mujoco.h>

            /* The loop the C# side is compared with: n plain mj_step calls. */
            void difftori_step_loop(const mjModel* m, mjData* d, int n) {
              for (int i = 0; i < n; i++) mj_step(m, d);
            }

            #ifdef STANDALONE
            /* usage: loop MODEL.xml STEPS  -> prints nanoseconds per mj_step (after mj_resetData) */
            int main(int argc, char** argv) {
              char error[1000];
              mjModel* m = mj_loadXML(argv[1], NULL, error, sizeof(error));
              if (!m) { fprintf(stderr, "%s\n", error); return 1; }
              mjData* d = mj_makeData(m);
              int steps = atoi(argv[2]);
              difftori_step_loop(m, d, steps < 2000 ? steps : 2000); /* warm caches like the C# side */
              mj_resetData(m, d);
              struct timespec a, b;
              clock_gettime(CLOCK_MONOTONIC, &a);
              difftori_step_loop(m, d, steps);
              clock_gettime(CLOCK_MONOTONIC, &b);
              printf("%.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / steps);
              mj_deleteData(d);
              mj_deleteModel(m);
              return 0;
            }
            #endif
            """;

        private readonly string _dir, _exe;
        private readonly IntPtr _library;
        private readonly delegate* unmanaged<IntPtr, IntPtr, int, void> _loop;

        public CBaseline()
        {
            _dir = Directory.CreateTempSubdirectory("difftori-mjbench-").FullName;
            string src = Path.Combine(_dir, "loop.c");
            File.WriteAllText(src, Source);
            _exe = Path.Combine(_dir, "loop");
            string so = Path.Combine(_dir, "libloop.so");
            Exec("gcc", $"-O2 -DSTANDALONE -o {_exe} {src} -l:{MjRuntime.LibraryName}");
            Exec("gcc", $"-O2 -shared -fPIC -o {so} {src} -l:{MjRuntime.LibraryName}");
            _library = NativeLibrary.Load(so);
            _loop = (delegate* unmanaged<IntPtr, IntPtr, int, void>)NativeLibrary.GetExport(_library, "difftori_step_loop");
        }

        /// <summary>Null when gcc and the MuJoCo headers are present, else what is missing.</summary>
        public static string? Problem()
        {
            bool gcc = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "gcc")));
            if (!gcc) return "gcc not found (needed to compile the C baseline)";
            if (!File.Exists("/usr/include/mujoco/mujoco.h")) return "MuJoCo headers missing: sudo apt-get install -y libmujoco-dev";
            return null;
        }

        public string WriteModel(string name, string xml)
        {
            string path = Path.Combine(_dir, name + ".xml");
            File.WriteAllText(path, xml);
            return path;
        }

        /// <summary>ns per step of the C loop called once on our own model/data (after a reset, like ManagedLoop).</summary>
        public double InProcessLoop(MjModel model, MjData data, int steps)
        {
            data.Reset();
            long start = Stopwatch.GetTimestamp();
            _loop(model.Pointer, data.Pointer, steps);
            return Stopwatch.GetElapsedTime(start).TotalNanoseconds / steps;
        }

        /// <summary>ns per step reported by the standalone C program.</summary>
        public double ProgramLoop(string modelFile, int steps) =>
            double.Parse(Exec(_exe, $"{modelFile} {steps}").Trim(), CultureInfo.InvariantCulture);

        private static string Exec(string file, string args)
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string stdout = p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"MuJoCoBench: '{file} {args}' failed ({p.ExitCode}): {stderr}");
            return stdout;
        }

        public void Dispose()
        {
            NativeLibrary.Free(_library);
            Directory.Delete(_dir, recursive: true);
        }
    }
}
