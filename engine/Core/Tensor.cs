namespace DiffTori.Engine;

/// <summary>
/// An n-dimensional array: a storage, a shape, per-axis strides and an offset. Views (reshape,
/// narrow, transpose, expand, ...) share the storage and copy nothing; kernels that need dense
/// memory call <see cref="Contiguous"/>. Dispose returns the buffer to the pool when no view uses it.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private TensorStorage? _storage;

    internal Tensor(TensorStorage storage, in Shape shape, in Strides strides, int offset)
    {
        _storage = storage;
        Shape = shape;
        Strides = strides;
        Offset = offset;
        IsContiguous = ComputeContiguous(shape, strides);
    }

    /// <summary>A fresh contiguous tensor that owns a new (pooled, uninitialized) storage.</summary>
    internal Tensor(TensorStorage storage, in Shape shape) : this(storage, shape, Strides.RowMajor(shape), 0) { }

    public TensorStorage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor), $"tensor of shape {Shape} was disposed");
    public Shape Shape { get; }
    public Strides Strides { get; }

    /// <summary>Index of element [0, 0, ...] in the storage.</summary>
    public int Offset { get; }

    public DType DType => Storage.DType;
    public Device Device => Storage.Device;
    public int Rank => Shape.Rank;

    /// <summary>Number of elements.</summary>
    public int Length => Shape.Length;

    /// <summary>True when the elements are dense and row-major from <see cref="Offset"/>.</summary>
    public bool IsContiguous { get; }

    public bool IsDisposed => _storage is null;

    public int Dim(int axis) => Shape[Shape.NormalizeAxis(axis)];

    /// <summary>The backing array of a CPU tensor; element [i0, i1, ...] is at Offset + Σ i_k·stride_k.</summary>
    public T[] CpuArray<T>() where T : unmanaged =>
        Storage is CpuStorage cpu
            ? cpu.Array<T>()
            : throw new InvalidOperationException($"tensor {Shape} lives on {Device}; move it to the CPU first (To(Device.Cpu))");

    /// <summary>The elements of a contiguous CPU tensor as a span (no copy).</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (!IsContiguous)
            throw new InvalidOperationException($"AsSpan needs a contiguous tensor; shape {Shape} strides {Strides} is a strided view (call Contiguous())");
        return CpuArray<T>().AsSpan(Offset, Length);
    }

    /// <summary>A new tensor that shares this one's storage (the storage stays alive until both are disposed).</summary>
    internal Tensor View(in Shape shape, in Strides strides, int offset)
    {
        var storage = Storage;
        storage.Retain();
        return new Tensor(storage, shape, strides, offset);
    }

    public void Dispose()
    {
        var s = Interlocked.Exchange(ref _storage, null);
        s?.Release();
    }

    private static bool ComputeContiguous(in Shape shape, in Strides strides)
    {
        // An empty tensor has no elements out of place, whatever its strides.
        for (int i = 0; i < shape.Rank; i++) if (shape[i] == 0) return true;
        int expected = 1;
        for (int i = shape.Rank - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }
}
