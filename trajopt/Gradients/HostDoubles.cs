using DiffTori.Autodiff;
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

    /// <summary>A per-example kernel from an input's doubles to an output's.</summary>
    public delegate void Kernel(ReadOnlySpan<double> input, Span<double> output);

    /// <summary>
    /// A linear map on flat doubles as one recorded op: checks that input has inputShape (else names who), runs
    /// kernel into a new tensor of outputShape, and records transpose, the map's adjoint, as its backward; the
    /// transpose is itself such an op, so a createGraph pass can differentiate it again.
    /// </summary>
    public static Var RecordLinear(string who, string opName, Var input, in Shape inputShape, in Shape outputShape,
        Kernel kernel, Func<Var, Var> transpose)
    {
        if (input.Shape != inputShape) throw new TensorShapeException($"{who}: expected {inputShape}, got {input.Shape}");
        var output = Output(outputShape, input.DType, input.Device, out var direct);
        kernel(Read(input.Value), output);
        return Autograd.RecordOp(opName, ToTensor(direct, output, outputShape, input.DType, input.Device), input, (_, g) => transpose(g));
    }

    private static bool IsHostFloat64(Tensor t) => t.DType == DType.Float64 && t.Device.IsCpu && t.IsContiguous;
}
