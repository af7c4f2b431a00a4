using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// The managed CPU backend: SIMD kernels (TensorPrimitives, Vector512/Vector256), both cores on large
/// work, pooled buffers. One partial file per kernel family.
/// </summary>
public sealed partial class CpuBackend(Device device) : IBackend
{
    public Device Device { get; } = device;

    public TensorStorage Allocate(DType dtype, int length) => CpuStorage.Rent(dtype, length, Device);

    public void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged =>
        source.CopyTo(destination.AsSpan<T>());

    public void Download<T>(Tensor source, Span<T> destination) where T : unmanaged =>
        source.AsSpan<T>().CopyTo(destination);

    public void Fill(Tensor destination, double value)
    {
        switch (destination.DType)
        {
            case DType.Float32: Fill<float>(destination, (float)value); break;
            case DType.Float64: Fill<double>(destination, value); break;
            default: Fill<int>(destination, checked((int)value)); break;
        }
    }

    private static void Fill<T>(Tensor destination, T value) where T : unmanaged
    {
        if (destination.IsContiguous)
        {
            destination.AsSpan<T>().Fill(value);
            return;
        }
        var data = destination.CpuArray<T>();
        var rows = new RowIterator(destination.Shape, destination.Strides, destination.Offset);
        while (rows.MoveNext(out int o, out _, out _))
            for (int i = 0; i < rows.RowLength; i++) data[o + i * rows.Inner0] = value;
    }

    public void Copy(Tensor source, Tensor destination)
    {
        switch (source.DType, destination.DType)
        {
            case (DType.Float32, DType.Float32): Copy<float, float>(source, destination); break;
            case (DType.Float64, DType.Float64): Copy<double, double>(source, destination); break;
            case (DType.Int32, DType.Int32): Copy<int, int>(source, destination); break;
            case (DType.Float32, DType.Float64): Copy<float, double>(source, destination); break;
            case (DType.Float64, DType.Float32): Copy<double, float>(source, destination); break;
            case (DType.Int32, DType.Float32): Copy<int, float>(source, destination); break;
            case (DType.Int32, DType.Float64): Copy<int, double>(source, destination); break;
            case (DType.Float32, DType.Int32): Copy<float, int>(source, destination); break;
            case (DType.Float64, DType.Int32): Copy<double, int>(source, destination); break;
        }
    }

    private static void Copy<TSource, TDest>(Tensor source, Tensor destination)
        where TSource : unmanaged, INumberBase<TSource>
        where TDest : unmanaged, INumberBase<TDest>
    {
        var src = source.CpuArray<TSource>();
        var dst = destination.CpuArray<TDest>();
        if (typeof(TSource) == typeof(TDest) && source.IsContiguous && destination.IsContiguous && source.Shape == destination.Shape)
        {
            src.AsSpan(source.Offset, source.Length).CopyTo(
                System.Runtime.InteropServices.MemoryMarshal.Cast<TDest, TSource>(dst.AsSpan(destination.Offset, destination.Length)));
            return;
        }
        var sourceStrides = Broadcast.StridesFor(source, destination.Shape, "copy");
        var rows = new RowIterator(destination.Shape, destination.Strides, destination.Offset, sourceStrides, source.Offset);
        int n = rows.RowLength, ds = rows.Inner0, ss = rows.Inner1;
        while (rows.MoveNext(out int od, out int os, out _))
            for (int i = 0; i < n; i++) dst[od + i * ds] = TDest.CreateTruncating(src[os + i * ss]);
    }
}
