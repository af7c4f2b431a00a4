using System.Runtime.CompilerServices;

namespace DiffTori.Engine;

/// <summary>
/// The memory behind one or more tensors. Views share a storage; a reference count returns the
/// buffer to its pool when the last tensor that uses it is disposed.
/// </summary>
public abstract class TensorStorage
{
    private int _references = 1;

    protected TensorStorage(DType dtype, int length, Device device)
    {
        DType = dtype;
        Length = length;
        Device = device;
    }

    public DType DType { get; }

    /// <summary>Number of elements this storage holds (the buffer may be larger).</summary>
    public int Length { get; }

    public Device Device { get; }

    /// <summary>True once the last owner released it; using it after that is a bug we report.</summary>
    public bool IsReleased => Volatile.Read(ref _references) <= 0;

    internal void Retain()
    {
        if (Interlocked.Increment(ref _references) <= 1)
            throw new ObjectDisposedException(nameof(TensorStorage), "a view was taken of a tensor whose storage was already released");
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) Free();
    }

    /// <summary>Give the buffer back (to a pool, or to the device allocator).</summary>
    protected abstract void Free();
}

/// <summary>Managed memory: a float[], double[] or int[] rented from <see cref="BufferPool"/>.</summary>
public sealed class CpuStorage : TensorStorage
{
    private Array? _array;

    internal CpuStorage(DType dtype, int length, Array array, Device device) : base(dtype, length, device)
    {
        _array = array;
    }

    /// <summary>Rent an uninitialized buffer of the given dtype and length.</summary>
    public static CpuStorage Rent(DType dtype, int length, Device device) => dtype switch
    {
        DType.Float32 => new CpuStorage(dtype, length, BufferPool.Rent<float>(length), device),
        DType.Float64 => new CpuStorage(dtype, length, BufferPool.Rent<double>(length), device),
        DType.Int32 => new CpuStorage(dtype, length, BufferPool.Rent<int>(length), device),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The whole backing array (it may be longer than <see cref="TensorStorage.Length"/>).</summary>
    public T[] Array<T>() where T : unmanaged
    {
        var a = _array ?? throw new ObjectDisposedException(nameof(CpuStorage), "tensor storage used after it was released (a disposed tensor?)");
        if (a.GetType() != typeof(T[]))
            throw new InvalidCastException($"storage holds {DType.Name()}, not {typeof(T).Name}");
        return Unsafe.As<T[]>(a);
    }

    protected override void Free()
    {
        var a = Interlocked.Exchange(ref _array, null);
        switch (a)
        {
            case float[] f: BufferPool.Return(f); break;
            case double[] d: BufferPool.Return(d); break;
            case int[] i: BufferPool.Return(i); break;
        }
    }
}
