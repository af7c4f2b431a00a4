using DiffTori.Engine;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace DiffTori.Engine.Tests.Gpu;

public class GpuDeviceTests
{
    [Fact]
    public void DevicesAreOpenedOnceAndNamedCanonically()
    {
        var a = Device.Get("ilgpu-cpu");
        var b = GpuDevices.Open("ILGPU-CPU");
        Assert.Same(a, b);
        Assert.Equal("ilgpu-cpu", a.Name);
        Assert.Equal(DeviceKind.IlgpuCpu, a.Kind);
        Assert.IsType<GpuBackend>(a.Backend);
        Assert.Contains("ilgpu-cpu", GpuDevices.Available());
        Assert.Contains("cpu", GpuDevices.Available());
    }

    [Fact]
    public void AMissingDeviceIsReportedWithWhatIsAvailable()
    {
        var e = Assert.Throws<InvalidOperationException>(() => GpuDevices.Open("cuda:7"));
        Assert.Contains("cuda:7", e.Message);
        Assert.Contains("ilgpu-cpu", e.Message);
        var bad = Assert.Throws<ArgumentException>(() => GpuDevices.Open("tpu"));
        Assert.Contains("tpu", bad.Message);
    }

    [Fact]
    public void TheBufferPoolReusesDeviceMemoryInASteadyLoop()
    {
        // A private pool on the simulator's accelerator, so tests running in parallel cannot interfere.
        var backend = (GpuBackend)Sim.Device.Backend;
        var pool = new GpuBufferPool(backend.Accelerator);
        var first = pool.Rent(DType.Float32, 111);
        Assert.Equal(128, first.Length);                       // rounded up to its power-of-two bucket
        pool.Return(DType.Float32, first);
        for (int step = 0; step < 5; step++)
        {
            var a = pool.Rent(DType.Float32, 100);               // same bucket: the same buffer comes back
            Assert.Same(first, a);
            var b = pool.Rent(DType.Float64, 100);               // another dtype: its own bucket
            pool.Return(DType.Float32, a);
            pool.Return(DType.Float64, b);
        }
        Assert.Equal(2, pool.Misses);
        Assert.Equal(9, pool.Hits);
        pool.Clear();
        Assert.Equal(0, pool.PooledBytes);

        // Tensors give their buffers back to the device's pool when disposed.
        long before = backend.Pool.Hits;
        for (int step = 0; step < 3; step++)
        {
            using var t = Tensor.Zeros(new Shape(37, 3), DType.Float32, Sim.Device);
        }
        Assert.True(backend.Pool.Hits >= before + 2, "disposed GPU tensors did not return their buffers to the pool");
    }

    [Fact]
    public void TensorsMoveBetweenCpuAndSimulator()
    {
        using var cpu = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6 }, new Shape(2, 3));
        using var gpu = cpu.To(Sim.Device);
        Assert.Equal(Sim.Device, gpu.Device);
        using var t = gpu.Transpose(0, 1);
        using var dense = t.Contiguous();
        using var back = dense.To(Device.Cpu);
        Assert.Equal(new double[] { 1, 4, 2, 5, 3, 6 }, back.ToDoubleArray());
    }

    [Fact]
    public void EveryKernelCompilesToPtx()
    {
        // The simulator executes kernels as .NET code; this checks that ILGPU can also compile each
        // one for an NVIDIA GPU (sm_70), where unsupported constructs would only show up at run time.
        using var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        var backend = new PTXBackend(context, CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, null!);
        var failures = new List<string>();
        var kernels = GpuKernelCatalog.All();
        Assert.True(kernels.Count >= 40, $"only {kernels.Count} kernels found");
        foreach (var k in kernels)
        {
            try
            {
                var entry = k.ExplicitlyGrouped
                    ? EntryPointDescription.FromExplicitlyGroupedKernel(k.Method)
                    : EntryPointDescription.FromImplicitlyGroupedKernel(k.Method);
                var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
                Assert.Contains(".entry", compiled.PTXAssembly);
            }
            catch (Exception e)
            {
                failures.Add($"{k.Method}: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [CudaFact]
    public void CudaDeviceRunsTheSameKernelsAsTheSimulator()
    {
        var cuda = Device.Get("cuda");
        var shape = new Shape(33, 47);
        using var ac = Gens.Tensor(shape, 1, DType.Float32);
        using var bc = Gens.Tensor(new Shape(47, 29), 2, DType.Float32);
        using var a = ac.To(cuda);
        using var b = bc.To(cuda);
        using var c = Tensor.Empty(new Shape(33, 29), DType.Float32, cuda);
        cuda.Backend.Gemm(a, b, c, new GemmSpec(1, 33, 29, 47, false, false, 1, 0, 0, 0, 0));
        var av = ac.ToDoubleArray();
        var bv = bc.ToDoubleArray();
        var expected = new double[33 * 29];
        for (int i = 0; i < 33; i++)
            for (int j = 0; j < 29; j++)
                for (int k = 0; k < 47; k++) expected[i * 29 + j] += av[i * 47 + k] * bv[k * 29 + j];
        Close.Assert(expected, c.ToDoubleArray(), 1e-4, "cuda gemm");
        using var y = Tensor.Empty(shape, DType.Float32, cuda);
        cuda.Backend.Unary(UnaryOp.Tanh, a, y, 0, 0);
        Close.Assert(Array.ConvertAll(av, Math.Tanh), y.ToDoubleArray(), 1e-5, "cuda tanh");

        // The same random numbers as the CPU (GPU double log/cos may differ from .NET by an ulp).
        using var rc = Tensor.Empty(new Shape(1000), DType.Float64);
        using var rg = Tensor.Empty(new Shape(1000), DType.Float64, cuda);
        Device.Cpu.Backend.RandomNormal(rc, 42, 7, 0, 1);
        cuda.Backend.RandomNormal(rg, 42, 7, 0, 1);
        Close.Assert(rc.ToDoubleArray(), rg.ToDoubleArray(), 1e-12, "cuda normal draws");

        // Long-row (group) reductions and a convolution through the public ops.
        using var wide = Gens.Tensor(new Shape(8, 3000), 3, DType.Float32);
        using var wideGpu = wide.To(cuda);
        using var sums = Tensor.Empty(new Shape(8), DType.Float32, cuda);
        cuda.Backend.Reduce(ReduceOp.LogSumExp, wideGpu, 8, 3000, 1, sums, 0);
        var wv = wide.ToDoubleArray();
        var expectedLse = new double[8];
        for (int r = 0; r < 8; r++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < 3000; j++) max = Math.Max(max, wv[r * 3000 + j]);
            for (int j = 0; j < 3000; j++) sum += Math.Exp(wv[r * 3000 + j] - max);
            expectedLse[r] = max + Math.Log(sum);
        }
        Close.Assert(expectedLse, sums.ToDoubleArray(), 1e-5, "cuda logsumexp");
        using var x = Gens.Tensor(new Shape(2, 3, 9, 9), 4, DType.Float32);
        using var w = Gens.Tensor(new Shape(5, 3, 3, 3), 5, DType.Float32);
        using var convCpu = Ops.Conv2d(x, w, null, (2, 2), (1, 1));
        using var xg = x.To(cuda);
        using var wg = w.To(cuda);
        using var convGpu = Ops.Conv2d(xg, wg, null, (2, 2), (1, 1));
        Close.Assert(convCpu.ToDoubleArray(), convGpu.ToDoubleArray(), 1e-4, "cuda conv2d");
    }
}
