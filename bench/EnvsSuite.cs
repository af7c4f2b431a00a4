using System.Globalization;
using DiffTori.Bench.Harness;
using DiffTori.Envs;
using DiffTori.Envs.Vector;

namespace DiffTori.Bench;

/// <summary>
/// Environment throughput with a random policy: steps per second of every managed task, one env at a time
/// and as a 16-copy vectorized env, in Auto mode (which stays serial for these sub-microsecond tasks) and forced
/// onto all cores (to show the hand-off cost). Episodes auto-reset, so resets are included.
/// No PyTorch counterpart. Options: --budget SECONDS (per workload, default 1.0), --filter TEXT, --copies N.
/// </summary>
public static class EnvsSuite
{
    public static int Run(string[] args)
    {
        double budget = 1.0;
        string? filter = null;
        int copies = 16;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--budget": budget = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--filter": filter = args[++i]; break;
                case "--copies": copies = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-torch": break;
                default:
                    Console.Error.WriteLine($"bench envs: unknown option '{args[i]}' (options: --budget S, --filter TEXT, --copies N)");
                    return 2;
            }
        }

        var rows = new List<BenchResult>();
        foreach (var spec in EnvRegistry.Specs.Where(s => s.Backend == EnvSpec.Managed))
        {
            foreach (var (label, body, stepsPerCall) in Workloads(spec, copies))
            {
                string name = $"{spec.Name} {label}";
                if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
                Console.Error.Write($"envs: {name} ... ");
                var m = Measure.Run(body, budget);
                double stepsPerSecond = stepsPerCall / m.MedianSeconds;
                Console.Error.WriteLine($"{stepsPerSecond:N0} steps/s");
                rows.Add(new BenchResult(name, m.MedianSeconds * 1e3, null, null, m.AllocatedBytesPerCall,
                    $"{stepsPerSecond.ToString("N0", CultureInfo.InvariantCulture)} steps/s"));
            }
        }
        Console.WriteLine($"| {"workload",-42} | {"ms/call",10} | {"steps/s",14} | {"alloc B/call",12} |");
        Console.WriteLine($"|{new string('-', 44)}|{new string('-', 12)}|{new string('-', 16)}|{new string('-', 14)}|");
        foreach (var r in rows)
            Console.WriteLine($"| {r.Name,-42} | {r.OursMs,10:F5} | {r.Note!.Replace(" steps/s", ""),14} | {r.AllocatedBytesPerOp,12:F0} |");

        // MuJoCo tasks: the binding's overhead over a C loop of mj_step, and random-policy throughput
        // (skipped, with the reason printed, when libmujoco2.2.2 or a C compiler is missing).
        if (filter is null || filter.Contains("mujoco", StringComparison.OrdinalIgnoreCase))
        {
            Console.WriteLine();
            rows.AddRange(MuJoCoBench.ToBenchResults(MuJoCoBench.Run()));
        }
        BenchSuite.Write("envs", rows);
        return 0;
    }

    static IEnumerable<(string Label, Action Body, int StepsPerCall)> Workloads(EnvSpec spec, int copies)
    {
        var actions = RandomActions(spec.ActionDimension * copies, seed: 1);
        int cursor = 0;

        var env = EnvRegistry.Make(spec.Name, backend: spec.Backend);
        env.Reset(0);
        int episode = 0;
        yield return ("single", () =>
        {
            cursor = (cursor + spec.ActionDimension) % (actions.Length - spec.ActionDimension);
            if (env.Step(actions.AsSpan(cursor, spec.ActionDimension)).Done) env.Reset(++episode);
        }, 1);

        foreach (bool parallel in new[] { false, true })
        {
            var vec = VectorEnv.Make(spec.Name, copies, backend: spec.Backend, mode: parallel ? VectorEnv.StepMode.Parallel : VectorEnv.StepMode.Auto);
            vec.Reset(0);
            var batches = RandomActions(spec.ActionDimension * copies * 64, seed: 2);
            int batch = 0, width = spec.ActionDimension * copies;
            yield return ($"vec{copies} {(parallel ? "parallel" : "auto")}", () =>
            {
                batch = (batch + 1) % 64;
                vec.Step(batches.AsSpan(batch * width, width));
            }, copies);
        }
    }

    static double[] RandomActions(int count, int seed)
    {
        var rng = new Random(seed);
        var a = new double[Math.Max(count, 4096)];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextDouble() * 2 - 1;
        return a;
    }
}
