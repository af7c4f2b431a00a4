using System.Globalization;
using System.Text.Json;
using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Bench.Harness;
using DiffTori.Engine;

namespace DiffTori.Bench;

/// <summary>
/// The autodiff layer against PyTorch (bench/torch/autodiff.py, 2 threads) on a TD-MPC-sized MLP,
/// 56 → 512 → 512 → 50 with ELU, MSE loss and Adam: a training step at batch 512, inference and
/// forward+backward at batch 1, and a second-order pass (the gradient of the squared gradient norm)
/// at batch 64 next to the first-order forward+backward it builds on. The "alloc B/op" column of the
/// training step is the managed garbage per step in steady state (each step runs in an
/// Autograd.Scope, so tensor buffers come back from the pool and only small objects remain); "adam step only" isolates the
/// optimizer's fused update (it runs on the gradients the training step left behind).
/// </summary>
public static class AutodiffSuite
{
    private static readonly int[] Dims = [56, 512, 512, 50];

    public static int Run(string[] args)
    {
        var net = Mlp.Build(Dims, () => new Elu(), new RandomGenerator(0));
        var parameters = net.Parameters();
        var adam = new Adam(parameters, 1e-3);
        var (x512, t512) = Batch(512, 1);
        var (x64, t64) = Batch(64, 2);
        var (x1, t1) = Batch(1, 3);

        var workloads = new List<Workload>
        {
            new("train step b512 (fwd+bwd+adam)", () =>
            {
                // The scope hands every intermediate buffer back to the pool at the end of the step.
                using var scope = Autograd.Scope();
                adam.ZeroGrad();
                F.Mse(net.Forward(x512), t512).Backward();
                adam.Step();
            }),
            new("adam step only (317k params)", () => adam.Step()),
            new("forward b1 (no grad)", () =>
            {
                using var scope = Autograd.Scope();
                using (Autograd.NoGrad()) net.Forward(x1);
            }),
            new("forward+backward b1", () =>
            {
                using var scope = Autograd.Scope();
                adam.ZeroGrad();
                F.Mse(net.Forward(x1), t1).Backward();
            }),
            new("forward+backward b64", () =>
            {
                using var scope = Autograd.Scope();
                adam.ZeroGrad();
                F.Mse(net.Forward(x64), t64).Backward();
            }),
            new("grad of grad-norm b64", () =>
            {
                using var scope = Autograd.Scope();
                adam.ZeroGrad();
                var loss = F.Mse(net.Forward(x64), t64);
                var grads = Autograd.Grad(loss, parameters, createGraph: true);
                Var norm2 = F.Sum(F.Square(grads[0]));
                for (int i = 1; i < grads.Length; i++) norm2 += F.Sum(F.Square(grads[i]));
                norm2.Backward();
            }),
        };
        int status = BenchSuite.Run("autodiff", workloads, args);
        if (status == 0) PrintSecondOrderRatio();
        return status;
    }

    private static (Var X, Var Target) Batch(int n, int seed)
    {
        var random = new Random(seed);
        var x = new float[n * Dims[0]];
        var t = new float[n * Dims[^1]];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        for (int i = 0; i < t.Length; i++) t[i] = (float)(random.NextDouble() * 2 - 1);
        return (new Var(Tensor.FromArray<float>(x, new Shape(n, Dims[0]))), new Var(Tensor.FromArray<float>(t, new Shape(n, Dims[^1]))));
    }

    /// <summary>Second order / first order at batch 64, ours and torch's, from the results the suite just wrote.</summary>
    private static void PrintSecondOrderRatio()
    {
        string path = Path.Combine(BenchSuite.RepositoryRoot(), "bench", "results", "autodiff.json");
        if (!File.Exists(path)) return;
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        double? oursFirst = null, oursSecond = null, torchFirst = null, torchSecond = null;
        foreach (var row in json.RootElement.EnumerateArray())
        {
            string name = row.GetProperty("name").GetString()!;
            double? ours = row.GetProperty("ours_ms").ValueKind == JsonValueKind.Number ? row.GetProperty("ours_ms").GetDouble() : null;
            double? torch = row.GetProperty("torch_ms").ValueKind == JsonValueKind.Number ? row.GetProperty("torch_ms").GetDouble() : null;
            if (name == "forward+backward b64") (oursFirst, torchFirst) = (ours, torch);
            if (name == "grad of grad-norm b64") (oursSecond, torchSecond) = (ours, torch);
        }
        static string Ratio(double? a, double? b) => a is { } x && b is { } y && y > 0 ? (x / y).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";
        Console.WriteLine($"second order / first order at b64: ours {Ratio(oursSecond, oursFirst)}, torch {Ratio(torchSecond, torchFirst)} (target ≤ 3x)");
    }
}
