using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Bench.Harness;
using DiffTori.Engine;

namespace DiffTori.Bench;

/// <summary>
/// The engine and autodiff on a GPU (default "cuda", or --device NAME) against PyTorch on the same GPU
/// (bench/torch/gpu.py). Every workload ends with a device synchronize, on both sides, so a time is the
/// kernel's work and not its launch. Sizes are larger than the CPU suites' because a GPU needs them.
/// Set DIFFTORI_TORCH_PYTHON to the interpreter that has a CUDA build of PyTorch.
/// </summary>
public static class GpuSuite
{
    private static readonly int[] MlpDims = [56, 512, 512, 50];

    public static int Run(string[] args)
    {
        string deviceName = "cuda";
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--device" && i + 1 < args.Length) deviceName = args[++i];
            else rest.Add(args[i]);
        }
        var device = Device.Get(deviceName);
        if (device.Backend is not GpuBackend gpu)
        {
            Console.Error.WriteLine($"bench gpu: device '{deviceName}' is not an ILGPU device");
            return 2;
        }
        Console.Error.WriteLine($"bench gpu: {gpu.Accelerator.Name} ({deviceName})");

        var workloads = new List<Workload>();
        foreach (int n in new[] { 1024, 4096 })
        {
            var a = Random(new Shape(n, n), 1, device);
            var b = Random(new Shape(n, n), 2, device);
            var c = Tensor.Zeros(new Shape(n, n), DType.Float32, device);
            workloads.Add(Synced($"sgemm {n}x{n}x{n}", gpu, () => Ops.Matmul(a, b, c)));
        }
        var x = Random(new Shape(1 << 24), 3, device);
        var y = Random(new Shape(1 << 24), 4, device);
        var z = Tensor.Empty(new Shape(1 << 24), DType.Float32, device);
        workloads.Add(Synced("add 16M f32", gpu, () => Ops.Binary(BinaryOp.Add, x, y, z)));
        workloads.Add(Synced("tanh 16M f32", gpu, () => Ops.Unary(UnaryOp.Tanh, x, z)));
        var logits = Random(new Shape(4096, 4096), 5, device);
        workloads.Add(Synced("softmax 4096x4096", gpu, () => Ops.Softmax(logits, -1).Dispose()));
        var images = Random(new Shape(32, 3, 84, 84), 6, device);
        var filters = Random(new Shape(32, 3, 3, 3), 7, device);
        workloads.Add(Synced("conv2d 32x3x84x84 -> 32 k3 s2", gpu, () => Ops.Conv2d(images, filters, null, stride: (2, 2)).Dispose()));

        // The TD-MPC-sized MLP of the autodiff suite, trained on the GPU.
        var net = Mlp.Build(MlpDims, () => new Elu(), new RandomGenerator(0), device: device);
        var adam = new Adam(net.Parameters(), 1e-3);
        var input = new Var(Random(new Shape(512, MlpDims[0]), 8, device));
        var target = new Var(Random(new Shape(512, MlpDims[^1]), 9, device));
        workloads.Add(Synced("mlp train step b512 (fwd+bwd+adam)", gpu, () =>
        {
            using var scope = Autograd.Scope();
            adam.ZeroGrad();
            F.Mse(net.Forward(input), target).Backward();
            adam.Step();
        }));

        return BenchSuite.Run("gpu", workloads, rest.ToArray());
    }

    private static Workload Synced(string name, GpuBackend gpu, Action body) => new(name, () =>
    {
        body();
        gpu.Synchronize();
    });

    private static Tensor Random(Shape shape, int seed, Device device)
    {
        var random = new System.Random(seed);
        var data = new float[shape.Length];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        using var host = Tensor.FromArray<float>(data, shape);
        return host.To(device);
    }
}
