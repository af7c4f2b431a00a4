namespace DiffTori.Engine;

public sealed partial class Tensor
{
    /// <summary>Uninitialized contiguous tensor (contents are whatever the pooled buffer held).</summary>
    public static Tensor Empty(in Shape shape, DType dtype = DType.Float32, Device? device = null)
    {
        device ??= Device.Cpu;
        return new Tensor(device.Backend.Allocate(dtype, shape.Length), shape);
    }

    public static Tensor Full(in Shape shape, double value, DType dtype = DType.Float32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        t.Device.Backend.Fill(t, value);
        return t;
    }

    public static Tensor Zeros(in Shape shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 0, dtype, device);
    public static Tensor Ones(in Shape shape, DType dtype = DType.Float32, Device? device = null) => Full(shape, 1, dtype, device);

    public static Tensor ZerosLike(Tensor t) => Zeros(t.Shape, t.DType, t.Device);
    public static Tensor OnesLike(Tensor t) => Ones(t.Shape, t.DType, t.Device);
    public static Tensor EmptyLike(Tensor t) => Empty(t.Shape, t.DType, t.Device);
    public static Tensor FullLike(Tensor t, double value) => Full(t.Shape, value, t.DType, t.Device);

    /// <summary>A rank-0 tensor holding one value.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, Device? device = null) => Full(Shape.Scalar, value, dtype, device);

    /// <summary>Copy a managed array into a new tensor of the given shape (float[] → float32, double[] → float64, int[] → int32).</summary>
    public static Tensor FromArray<T>(ReadOnlySpan<T> data, in Shape shape, Device? device = null) where T : unmanaged
    {
        if (data.Length != shape.Length)
            throw new TensorShapeException($"FromArray: {data.Length} values cannot fill shape {shape} ({shape.Length} elements)");
        var t = Empty(shape, DTypeExtensions.Of<T>(), device);
        t.Device.Backend.Upload(data, t);
        return t;
    }

    /// <summary>A 1-D tensor from values.</summary>
    public static Tensor FromArray<T>(T[] data, Device? device = null) where T : unmanaged => FromArray<T>(data, new Shape(data.Length), device);

    public static Tensor FromArray<T>(T[] data, params int[] shape) where T : unmanaged => FromArray<T>(data, new Shape(shape));

    /// <summary>0, 1, ..., n-1 as a 1-D tensor.</summary>
    public static Tensor Arange(int n, DType dtype = DType.Float32, Device? device = null)
    {
        var host = new double[n];
        for (int i = 0; i < n; i++) host[i] = i;
        return FromDoubles(host, new Shape(n), dtype, device);
    }

    /// <summary>Identity matrix n×n.</summary>
    public static Tensor Eye(int n, DType dtype = DType.Float32, Device? device = null)
    {
        var host = new double[n * n];
        for (int i = 0; i < n; i++) host[i * n + i] = 1;
        return FromDoubles(host, new Shape(n, n), dtype, device);
    }

    /// <summary>Build a tensor of any dtype from double values (convenient for tests and constants).</summary>
    public static Tensor FromDoubles(ReadOnlySpan<double> values, in Shape shape, DType dtype = DType.Float32, Device? device = null)
    {
        switch (dtype)
        {
            case DType.Float64:
                return FromArray(values, shape, device);
            case DType.Float32:
            {
                var f = new float[values.Length];
                for (int i = 0; i < f.Length; i++) f[i] = (float)values[i];
                return FromArray<float>(f, shape, device);
            }
            default:
            {
                var n = new int[values.Length];
                for (int i = 0; i < n.Length; i++) n[i] = checked((int)values[i]);
                return FromArray<int>(n, shape, device);
            }
        }
    }
}
