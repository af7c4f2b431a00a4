using System.Globalization;
using System.Text.Json;

namespace DiffTori.Bench.Harness;

/// <summary>One named workload: <see cref="Run"/> performs one call of the op being measured.</summary>
public sealed record Workload(string Name, Action Run);

/// <summary>One row of a suite's result (what goes to bench/results/SUITE.json).</summary>
public sealed record BenchResult(string Name, double? OursMs, double? TorchMs, double? Ratio, double? AllocatedBytesPerOp, string? Note);

/// <summary>
/// The reusable driver of a benchmark suite. Typical use in a suite file:
/// <code>
/// public static int Run(string[] args)
/// {
///     var workloads = new List&lt;Workload&gt; { new("sgemm 64x64x64", () => Ops.Matmul(a, b, c)) };
///     return BenchSuite.Run("engine", workloads, args);
/// }
/// </code>
/// It measures each workload (<see cref="Measure"/>), runs bench/torch/SUITE.py for the PyTorch times (<see cref="TorchRunner"/>), prints a
/// table and writes bench/results/SUITE.json. ratio = torch_ms / ours_ms, so &gt; 1 means we are faster.
/// Options: --budget SECONDS (per workload, default 1.5), --no-torch, --filter TEXT (workloads whose name contains TEXT).
/// </summary>
public static class BenchSuite
{
    public static int Run(string suite, IReadOnlyList<Workload> workloads, string[] args)
    {
        double budget = 1.5;
        bool torch = true;
        string? filter = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--budget": budget = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--no-torch": torch = false; break;
                case "--filter": filter = args[++i]; break;
                default:
                    Console.Error.WriteLine($"bench {suite}: unknown option '{args[i]}' (options: --budget S, --no-torch, --filter TEXT)");
                    return 2;
            }
        }

        var selected = workloads.Where(w => filter is null || w.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)).ToList();
        var ours = new Dictionary<string, (Measurement? M, string? Note)>();
        foreach (var w in selected)
        {
            Console.Error.Write($"{suite}: {w.Name} ... ");
            var m = Measure.Run(w.Run, budget);
            ours[w.Name] = (m, null);
            Console.Error.WriteLine($"{m.MedianSeconds * 1e3:F4} ms");
        }

        var torchTimes = new Dictionary<string, double>();
        if (torch)
        {
            string script = Path.Combine(RepositoryRoot(), "bench", "torch", suite + ".py");
            Console.Error.WriteLine($"{suite}: running {script} ...");
            var filterArgs = filter is null ? Array.Empty<string>() : new[] { "--filter", filter };
            torchTimes = TorchRunner.Run(script, TimeSpan.FromMinutes(10), ["--budget", budget.ToString(CultureInfo.InvariantCulture), .. filterArgs]);
        }

        var rows = new List<BenchResult>();
        foreach (var w in selected)
        {
            var (m, note) = ours[w.Name];
            double? oursMs = m?.MedianSeconds * 1e3;
            double? torchMs = torchTimes.TryGetValue(w.Name, out var t) ? t * 1e3 : null;
            double? ratio = oursMs is > 0 && torchMs is not null ? torchMs / oursMs : null;
            rows.Add(new BenchResult(w.Name, oursMs, torchMs, ratio, m?.AllocatedBytesPerCall, note));
        }
        Print(suite, rows);
        Write(suite, rows, keepOthers: filter is not null);
        return 0;
    }

    /// <summary>A plain text table (markdown-compatible) on stdout.</summary>
    public static void Print(string suite, IReadOnlyList<BenchResult> rows)
    {
        int width = Math.Max(8, rows.Count == 0 ? 0 : rows.Max(r => r.Name.Length));
        Console.WriteLine($"| {"workload".PadRight(width)} | {"ours ms",17} | {"torch ms",10} | {"speedup",8} | {"alloc B/op",10} |");
        Console.WriteLine($"|{new string('-', width + 2)}|{new string('-', 19)}|{new string('-', 12)}|{new string('-', 10)}|{new string('-', 12)}|");
        foreach (var r in rows)
        {
            string ours = r.Note ?? Format(r.OursMs);
            Console.WriteLine($"| {r.Name.PadRight(width)} | {ours,17} | {Format(r.TorchMs),10} | {(r.Ratio is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) + "x" : "-"),8} | {(r.AllocatedBytesPerOp is { } b ? b.ToString("F0", CultureInfo.InvariantCulture) : "-"),10} |");
        }
        Console.WriteLine($"({suite}: speedup = torch ms / ours ms; > 1 means DiffTori is faster)");
    }

    private static string Format(double? ms) => ms is { } v ? v.ToString(v < 0.1 ? "F4" : "F3", CultureInfo.InvariantCulture) : "-";

    /// <summary>
    /// bench/results/SUITE.json: an array of {name, ours_ms, torch_ms, ratio, allocated_bytes_per_op, note}.
    /// With keepOthers (a --filter run) the entries of workloads not measured this time are kept from the old file.
    /// </summary>
    public static void Write(string suite, IReadOnlyList<BenchResult> rows, bool keepOthers = false)
    {
        string dir = Path.Combine(RepositoryRoot(), "bench", "results");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, suite + ".json");
        var kept = new List<JsonElement>();
        if (keepOthers && File.Exists(path))
        {
            try
            {
                using var old = JsonDocument.Parse(File.ReadAllText(path));
                foreach (var e in old.RootElement.EnumerateArray())
                    if (e.TryGetProperty("name", out var n) && !rows.Any(r => r.Name == n.GetString())) kept.Add(e.Clone());
            }
            catch (JsonException) { }
        }
        using (var stream = File.Create(path))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var e in kept) e.WriteTo(json);
            foreach (var r in rows)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                WriteNumber(json, "ours_ms", r.OursMs);
                WriteNumber(json, "torch_ms", r.TorchMs);
                WriteNumber(json, "ratio", r.Ratio);
                WriteNumber(json, "allocated_bytes_per_op", r.AllocatedBytesPerOp);
                if (r.Note is not null) json.WriteString("note", r.Note);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        Console.Error.WriteLine($"{suite}: wrote {path}");
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v)) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }

    /// <summary>The directory holding DiffTori.sln (searched upward from the working directory, then from the binary).</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "DiffTori.sln"))) return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }
}
