using DiffTori.Bench.Harness;
using DiffTori.Engine;

namespace DiffTori.Bench;

/// <summary>
/// The tensor engine against PyTorch (bench/torch/engine.py, 2 threads), same workloads and shapes.
/// GEMM names read "sgemm MxKxN": A is M×K, B is K×N, C is M×N (float32, C written in place).
/// </summary>
public static class EngineSuite
{
    public static int Run(string[] args)
    {
        var workloads = new List<Workload>();
        foreach (var (m, k, n) in new[] { (64, 64, 64), (512, 512, 512), (1024, 1024, 1024), (512, 56, 512), (512, 512, 50), (1, 56, 512) })
            workloads.Add(Gemm(m, k, n));

        var a = Random(new Shape(1 << 20), 1);
        var b = Random(new Shape(1 << 20), 2);
        var y = Tensor.Empty(new Shape(1 << 20));
        workloads.Add(new("add 1M f32", () => Ops.Binary(BinaryOp.Add, a, b, y)));
        workloads.Add(new("tanh 1M f32", () => Ops.Unary(UnaryOp.Tanh, a, y)));

        var logits = Random(new Shape(512, 512), 3);
        workloads.Add(new("softmax 512x512", () => Ops.Softmax(logits, -1).Dispose()));

        // MLP layers (weight stored [out, in]): batch 1, as in DiffTORI's per-step policy, and batch 512.
        foreach (var (rows, inFeatures, outFeatures) in new[] { (1, 56, 512), (1, 512, 512), (1, 512, 50), (512, 512, 512) })
            workloads.Add(Linear(rows, inFeatures, outFeatures));

        var images = Random(new Shape(32, 3, 84, 84), 4);
        var filters = Random(new Shape(32, 3, 3, 3), 5);
        workloads.Add(new("conv2d 32x3x84x84 -> 32 k3 s2", () => Ops.Conv2d(images, filters, null, stride: (2, 2)).Dispose()));

        return BenchSuite.Run("engine", workloads, args);
    }

    private static Workload Gemm(int m, int k, int n)
    {
        var a = Random(new Shape(m, k), m + k);
        var b = Random(new Shape(k, n), k + n);
        var c = Tensor.Zeros(new Shape(m, n));
        return new($"sgemm {m}x{k}x{n}", () => Ops.Matmul(a, b, c));
    }

    private static Workload Linear(int rows, int inFeatures, int outFeatures)
    {
        var x = Random(new Shape(rows, inFeatures), rows + inFeatures);
        var w = Random(new Shape(outFeatures, inFeatures), inFeatures + outFeatures);
        var b = Random(new Shape(outFeatures), outFeatures);
        return new($"linear {rows}x{inFeatures}->{outFeatures}", () => Ops.Linear(x, w, b).Dispose());
    }

    private static Tensor Random(Shape shape, int seed)
    {
        var random = new System.Random(seed);
        var data = new float[shape.Length];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return Tensor.FromArray<float>(data, shape);
    }
}
