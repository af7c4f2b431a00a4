using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

/// <summary>Device memory behind a GPU tensor: a pooled ILGPU buffer of float, double or int.</summary>
public sealed class GpuStorage : TensorStorage
{
    private MemoryBuffer? _buffer;
    private readonly GpuBufferPool _pool;

    internal GpuStorage(DType dtype, int length, MemoryBuffer buffer, GpuBufferPool pool, Device device)
        : base(dtype, length, device)
    {
        _buffer = buffer;
        _pool = pool;
    }

    /// <summary>The whole buffer as a view of T (it may be longer than <see cref="TensorStorage.Length"/>).</summary>
    public ArrayView<T> View<T>() where T : unmanaged
    {
        var b = _buffer ?? throw new ObjectDisposedException(nameof(GpuStorage), "GPU tensor storage used after it was released (a disposed tensor?)");
        if (b is not MemoryBuffer1D<T, Stride1D.Dense> typed)
            throw new InvalidCastException($"GPU storage holds {DType.Name()}, not {typeof(T).Name}");
        return typed.View.AsContiguous();
    }

    protected override void Free()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b is not null) _pool.Return(DType, b);
    }
}

/// <summary>
/// Reuses device buffers by (dtype, power-of-two capacity), so a loop that allocates the same
/// shapes every step stops calling the device allocator after its first step. Bounded in bytes.
/// </summary>
internal sealed class GpuBufferPool(Accelerator accelerator)
{
    /// <summary>At most this many bytes are kept for reuse per accelerator.</summary>
    public long MaxPooledBytes { get; set; } = 1L << 30;

    private const int MinCapacity = 64;
    private const int MaxPerBucket = 64;
    private readonly Lock _gate = new();
    private readonly Dictionary<(DType, int), Stack<MemoryBuffer>> _buckets = new();
    private long _pooledBytes;

    public long Hits { get; private set; }
    public long Misses { get; private set; }
    public long PooledBytes => Interlocked.Read(ref _pooledBytes);

    /// <summary>The capacity a request of this length is rounded up to.</summary>
    public static int Capacity(int length)
    {
        if (length <= MinCapacity) return MinCapacity;
        return length > (1 << 30) ? length : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length);
    }

    public MemoryBuffer Rent(DType dtype, int length)
    {
        int capacity = Capacity(length);
        lock (_gate)
        {
            if (_buckets.TryGetValue((dtype, capacity), out var stack) && stack.Count > 0)
            {
                Hits++;
                _pooledBytes -= (long)capacity * dtype.SizeInBytes();
                return stack.Pop();
            }
            Misses++;
        }
        return dtype switch
        {
            DType.Float32 => accelerator.Allocate1D<float>(capacity),
            DType.Float64 => accelerator.Allocate1D<double>(capacity),
            DType.Int32 => accelerator.Allocate1D<int>(capacity),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }

    public void Return(DType dtype, MemoryBuffer buffer)
    {
        int capacity = (int)buffer.Length;
        long bytes = (long)capacity * dtype.SizeInBytes();
        lock (_gate)
        {
            if (_pooledBytes + bytes <= MaxPooledBytes)
            {
                if (!_buckets.TryGetValue((dtype, capacity), out var stack))
                    _buckets[(dtype, capacity)] = stack = new Stack<MemoryBuffer>();
                if (stack.Count < MaxPerBucket)
                {
                    stack.Push(buffer);
                    _pooledBytes += bytes;
                    return;
                }
            }
        }
        buffer.Dispose();
    }

    /// <summary>Free every pooled buffer.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            foreach (var stack in _buckets.Values)
                while (stack.Count > 0) stack.Pop().Dispose();
            _buckets.Clear();
            _pooledBytes = 0;
        }
    }
}
