namespace DiffTori.Engine;

/// <summary>Shapes that do not fit an op. The message names the op and every shape involved.</summary>
public sealed class TensorShapeException(string message) : ArgumentException(message);

/// <summary>A NaN or infinity appeared; the message names the op that produced it and where.</summary>
public sealed class NonFiniteException(string message) : ArithmeticException(message);

/// <summary>Argument checks shared by every op; each message starts with the op's name.</summary>
public static class Require
{
    public static void SameDType(string op, Tensor a, Tensor b)
    {
        if (a.DType != b.DType)
            throw new ArgumentException($"{op}: dtype mismatch, {a.DType.Name()} {a.Shape} vs {b.DType.Name()} {b.Shape}");
    }

    public static void SameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device)
            throw new ArgumentException($"{op}: tensors are on different devices, {a.Device} {a.Shape} vs {b.Device} {b.Shape}");
    }

    public static void Float(string op, Tensor a)
    {
        if (!a.DType.IsFloatingPoint())
            throw new ArgumentException($"{op}: expects a float32 or float64 tensor, got {a.DType.Name()} {a.Shape}");
    }

    public static void Int32(string op, Tensor index)
    {
        if (index.DType != DType.Int32)
            throw new ArgumentException($"{op}: indices must be an int32 tensor, got {index.DType.Name()} {index.Shape}");
    }

    public static void Rank(string op, Tensor t, int rank, string what = "input")
    {
        if (t.Rank != rank)
            throw new TensorShapeException($"{op}: {what} must have rank {rank}, got shape {t.Shape}");
    }

    public static void MinRank(string op, Tensor t, int rank, string what = "input")
    {
        if (t.Rank < rank)
            throw new TensorShapeException($"{op}: {what} must have rank at least {rank}, got shape {t.Shape}");
    }

    public static void Shape(string op, Tensor t, in Shape expected, string what = "result")
    {
        if (t.Shape != expected)
            throw new TensorShapeException($"{op}: {what} has shape {t.Shape}, expected {expected}");
    }

    /// <summary>A destination tensor given by the caller: right shape, dtype and device, and contiguous.</summary>
    public static void Destination(string op, Tensor result, in Shape expected, DType dtype, Device device)
    {
        Shape(op, result, expected);
        if (result.DType != dtype)
            throw new ArgumentException($"{op}: result has dtype {result.DType.Name()}, expected {dtype.Name()}");
        if (result.Device != device)
            throw new ArgumentException($"{op}: result is on {result.Device}, expected {device}");
        if (!result.IsContiguous)
            throw new ArgumentException($"{op}: result must be contiguous (shape {result.Shape}, strides {result.Strides})");
    }
}
