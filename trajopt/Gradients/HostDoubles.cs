using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// Moving tensor data to and from flat doubles for the per-example kernels of the implicit backward, without a
/// copy in the common case (a contiguous float64 tensor on the CPU); other dtypes and devices go through one copy.
/// </summary>
internal static class HostDoubles
{
    /// <summary>The elements of t, row-major, as doubles.</summary>
    public static ReadOnlySpan<double> Read(Tensor t) =>
        IsHostFloat64(t) ? t.AsSpan<double>() : t.ToDoubleArray();

    /// <summary>
    /// Room for a result of the given shape: a new float64 CPU tensor's own memory (then direct is that tensor),
    /// or for other dtypes and devices a scratch array (direct null); <see cref="ToTensor"/> gives the tensor.
    /// </summary>
    public static Span<double> Output(in Shape shape, DType dtype, Device device, out Tensor? direct)
    {
        if (dtype == DType.Float64 && device.IsCpu)
        {
            direct = Tensor.Empty(shape, DType.Float64, device);
            return direct.AsSpan<double>();
        }
        direct = null;
        return new double[shape.Length];
    }

    /// <summary>The tensor holding an <see cref="Output"/> after it was filled.</summary>
    public static Tensor ToTensor(Tensor? direct, ReadOnlySpan<double> data, in Shape shape, DType dtype, Device device) =>
        direct ?? Tensor.FromDoubles(data, shape, dtype, device);

    private static bool IsHostFloat64(Tensor t) => t.DType == DType.Float64 && t.Device.IsCpu && t.IsContiguous;
}
