namespace DiffTori.Engine;

/// <summary>
/// Reuses arrays by exact length, so a training loop that creates tensors of the same shapes every
/// step stops allocating after its first step. Thread-safe; bounded so it never hoards memory.
/// </summary>
public static class BufferPool
{
    /// <summary>At most this many bytes are kept for reuse; beyond it returned arrays go to the GC.</summary>
    public static long MaxPooledBytes { get; set; } = 2L << 30;

    // Per-length cap, far above what one step holds: a planner step (TD-MPC's 6 iterations × horizon 5 ×
    // every layer) keeps hundreds of same-length intermediates alive until its scope ends, and with a
    // small cap the excess went to the GC every step (megabytes per action, large-object GCs at width 512).
    // MaxPooledBytes is what bounds the memory.
    private const int MaxPerLength = 1 << 14;
    private static long _pooledBytes;
    private static long _hits, _misses;

    public static long PooledBytes => Interlocked.Read(ref _pooledBytes);
    public static long Hits => Interlocked.Read(ref _hits);
    public static long Misses => Interlocked.Read(ref _misses);

    private static class Bins<T>
    {
        public static readonly Dictionary<int, Stack<T[]>> ByLength = new();
        public static readonly Lock Gate = new();
    }

    public static T[] Rent<T>(int length) where T : unmanaged
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), $"cannot allocate a buffer of {length} elements");
        if (length == 0) return [];
        lock (Bins<T>.Gate)
        {
            if (Bins<T>.ByLength.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                Interlocked.Add(ref _pooledBytes, -(long)length * SizeOf<T>());
                Interlocked.Increment(ref _hits);
                return stack.Pop();
            }
        }
        Interlocked.Increment(ref _misses);
        return GC.AllocateUninitializedArray<T>(length);
    }

    public static void Return<T>(T[] array) where T : unmanaged
    {
        if (array.Length == 0) return;
        long bytes = (long)array.Length * SizeOf<T>();
        if (PooledBytes + bytes > MaxPooledBytes) return;
        lock (Bins<T>.Gate)
        {
            if (!Bins<T>.ByLength.TryGetValue(array.Length, out var stack))
                Bins<T>.ByLength[array.Length] = stack = new Stack<T[]>();
            if (stack.Count >= MaxPerLength) return;
            stack.Push(array);
        }
        Interlocked.Add(ref _pooledBytes, bytes);
    }

    /// <summary>Drop every pooled array (for tests and for freeing memory between phases).</summary>
    public static void Clear()
    {
        Clear<float>();
        Clear<double>();
        Clear<int>();
        Interlocked.Exchange(ref _pooledBytes, 0);
    }

    private static void Clear<T>() where T : unmanaged
    {
        lock (Bins<T>.Gate) Bins<T>.ByLength.Clear();
    }

    private static int SizeOf<T>() where T : unmanaged => System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
}
