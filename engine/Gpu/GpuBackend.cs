using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

/// <summary>
/// The ILGPU backend: every <see cref="IBackend"/> kernel as an ILGPU kernel, loaded once per
/// accelerator on first use and cached. Float kernels are generic over (T, TNum) — float with
/// <see cref="GpuFloat32"/> or double with <see cref="GpuFloat64"/> — and ILGPU specializes each.
/// One partial file per kernel family; each holds its kernels and the host code that launches them.
/// </summary>
public sealed partial class GpuBackend : IBackend, IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly GpuBufferPool _pool;
    private readonly RealKernels<float, GpuFloat32> _f32;
    private readonly RealKernels<double, GpuFloat64> _f64;

    internal GpuBackend(Device device, Accelerator accelerator)
    {
        Device = device;
        _accelerator = accelerator;
        _pool = new GpuBufferPool(accelerator);
        _f32 = new RealKernels<float, GpuFloat32>(accelerator);
        _f64 = new RealKernels<double, GpuFloat64>(accelerator);
        _any = new AnyKernels(accelerator);
    }

    public Device Device { get; }

    /// <summary>The ILGPU accelerator that runs this backend's kernels.</summary>
    public Accelerator Accelerator => _accelerator;

    internal GpuBufferPool Pool => _pool;

    /// <summary>Wait until every launched kernel has finished.</summary>
    public void Synchronize() => _accelerator.Synchronize();

    public void Dispose()
    {
        _accelerator.Synchronize();
        _pool.Clear();
    }

    // ----- memory -----

    public TensorStorage Allocate(DType dtype, int length) =>
        new GpuStorage(dtype, length, _pool.Rent(dtype, length), _pool, Device);

    public void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged
    {
        if (source.Length == 0) return;
        var view = ViewOf<T>(destination).SubView(destination.Offset, source.Length);
        view.CopyFromCPU(_accelerator.DefaultStream, source);
        _accelerator.DefaultStream.Synchronize();
    }

    public void Download<T>(Tensor source, Span<T> destination) where T : unmanaged
    {
        if (destination.Length == 0) return;
        var view = ViewOf<T>(source).SubView(source.Offset, destination.Length);
        view.CopyToCPU(_accelerator.DefaultStream, destination);
        _accelerator.DefaultStream.Synchronize();
    }

    // ----- helpers shared by the kernel families -----

    internal static ArrayView<T> ViewOf<T>(Tensor t) where T : unmanaged =>
        t.Storage is GpuStorage gpu
            ? gpu.View<T>()
            : throw new InvalidOperationException($"tensor {t.Shape} lives on {t.Device}, not on a GPU device");

    /// <summary>The float kernels for T (a reference cast: no allocation).</summary>
    private RealKernels<T, TNum> Real<T, TNum>()
        where T : unmanaged, IFloatingPointIeee754<T>
        where TNum : struct, IGpuNumber<T> =>
        typeof(T) == typeof(float) ? (RealKernels<T, TNum>)(object)_f32 : (RealKernels<T, TNum>)(object)_f64;

    /// <summary>A temporary device tensor (pooled); dispose it when done.</summary>
    private Tensor Scratch(in Shape shape, DType dtype) => Tensor.Empty(shape, dtype, Device);

    /// <summary>Blocks of a grid for a flat problem of n items with the given group size.</summary>
    private static int Blocks(long n, int groupSize) => (int)Math.Max(1, (n + groupSize - 1) / groupSize);

    private static void RequireFloat(string kernel, Tensor t)
    {
        if (!t.DType.IsFloatingPoint())
            throw new ArgumentException($"{kernel} (GPU): expects a float32 or float64 tensor, got {t.DType.Name()} {t.Shape}");
    }

    /// <summary>The kernels for one float type, each loaded the first time it is used.</summary>
    private sealed partial class RealKernels<T, TNum>(Accelerator accelerator)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TNum : struct, IGpuNumber<T>
    {
        private readonly Accelerator _acc = accelerator;
    }

    /// <summary>Kernels over any dtype (fill and copy).</summary>
    private readonly AnyKernels _any;

    private sealed partial class AnyKernels(Accelerator accelerator)
    {
        private readonly Accelerator _acc = accelerator;
    }
}
