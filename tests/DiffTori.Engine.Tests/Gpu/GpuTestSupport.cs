using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Gpu;

/// <summary>
/// The device the GPU kernel tests run on, and helpers to move test data onto it. By default ILGPU's CPU
/// simulator (CI has no GPU); DIFFTORI_GPU_TEST_DEVICE=cuda runs the same tests on a real GPU.
/// </summary>
internal static class Sim
{
    public static readonly string DeviceName =
        Environment.GetEnvironmentVariable("DIFFTORI_GPU_TEST_DEVICE") is { Length: > 0 } name ? name : "ilgpu-cpu";

    public static Device Device => Engine.Device.Get(DeviceName);

    /// <summary>Reproducible values in [low, high) as a tensor on the simulator.</summary>
    public static Tensor Tensor(Shape shape, int seed, DType dtype = DType.Float64, double low = -2, double high = 2) =>
        Engine.Tensor.FromDoubles(Gens.Data(shape, seed, low, high), shape, dtype, Device);

    public static Tensor FromDoubles(double[] values, Shape shape, DType dtype = DType.Float64) =>
        Engine.Tensor.FromDoubles(values, shape, dtype, Device);

    /// <summary>Tolerance for comparing against a double reference.</summary>
    public static double Tol(DType dtype) => dtype == DType.Float32 ? 2e-5 : 1e-12;
}

/// <summary>A fact that runs only where a CUDA GPU is present.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!HasCuda()) Skip = "no CUDA GPU on this machine (the GPU kernels are tested on ILGPU's CPU simulator instead)";
    }

    private static bool HasCuda()
    {
        try
        {
            return GpuDevices.HasCuda;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
