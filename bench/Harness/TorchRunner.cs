using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace DiffTori.Bench.Harness;

/// <summary>
/// Runs a PyTorch script (bench/torch/SUITE.py) with /usr/bin/python3. Contract for the script: it runs
/// the same workloads with the same shapes and prints, as the LAST line of stdout, one JSON object
/// {"workload name": median_seconds, ...}. Anything printed before that line is ignored.
/// </summary>
public static class TorchRunner
{
    /// <summary>Debian's python3 with python3-torch, unless DIFFTORI_TORCH_PYTHON names another (a CUDA build for `bench gpu`).</summary>
    public static string Python => Environment.GetEnvironmentVariable("DIFFTORI_TORCH_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    /// <summary>Median seconds per workload name, or an empty map (with a message on stderr) if torch is unavailable.</summary>
    public static Dictionary<string, double> Run(string scriptPath, TimeSpan timeout, params string[] args)
    {
        var result = new Dictionary<string, double>();
        if (!File.Exists(scriptPath) || !File.Exists(Python))
        {
            Console.Error.WriteLine($"torch: skipped ({(File.Exists(Python) ? scriptPath : Python)} not found)");
            return result;
        }
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        GiveOpenBlasItsAvx512Kernels(start);
        start.ArgumentList.Add(scriptPath);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Console.Error.WriteLine($"torch: {scriptPath} timed out after {timeout.TotalSeconds:F0} s");
            return result;
        }
        if (process.ExitCode != 0)
        {
            Console.Error.WriteLine($"torch: {scriptPath} failed (exit {process.ExitCode}): {stderr.Result}");
            return result;
        }
        return Parse(stdout);
    }

    /// <summary>
    /// Debian's OpenBLAS 0.3.21 picks its kernels by CPU model and does not know AMD's Zen 5 (family 26), and this
    /// workplace's environment pins OPENBLAS_CORETYPE=Haswell: either way PyTorch got OpenBLAS's AVX2 kernels, whose
    /// 1×512 by 512×512 product took 84 µs here against 14 µs with its AVX-512 ones (SGEMM 1024³: 12 ms against
    /// 6 ms). So that PyTorch runs at its best, on a CPU with AVX-512 its script gets OPENBLAS_CORETYPE=SkylakeX;
    /// DIFFTORI_TORCH_OPENBLAS_CORETYPE chooses another.
    /// </summary>
    private static void GiveOpenBlasItsAvx512Kernels(ProcessStartInfo start)
    {
        string? core = Environment.GetEnvironmentVariable("DIFFTORI_TORCH_OPENBLAS_CORETYPE") is { Length: > 0 } chosen ? chosen
            : System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? "SkylakeX" : null;
        string? inherited = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE");
        if (core is null || inherited == core) return;
        Console.Error.WriteLine($"torch: OPENBLAS_CORETYPE={core} (was {inherited ?? "unset"})");
        start.Environment["OPENBLAS_CORETYPE"] = core;
    }

    /// <summary>Parse the last non-empty line of a script's output as {name: seconds}.</summary>
    public static Dictionary<string, double> Parse(string stdout)
    {
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new Dictionary<string, double>();
        if (lines.Length == 0) return result;
        using var json = JsonDocument.Parse(lines[^1]);
        foreach (var p in json.RootElement.EnumerateObject())
            if (p.Value.ValueKind == JsonValueKind.Number) result[p.Name] = p.Value.GetDouble();
            else if (p.Value.ValueKind == JsonValueKind.String && double.TryParse(p.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                result[p.Name] = v;
        return result;
    }
}
