using System.Runtime.CompilerServices;

namespace DiffTori.Engine;

/// <summary>
/// TensorPrimitives writes any destination over 256 KB with non-temporal stores: they bypass the caches and
/// send the result to memory. That suits arrays larger than the last-level cache, but an engine's tensors are
/// mostly smaller (a 1M-element float32 add reads and writes 12 MB, well inside a 32 MB L3), and the next op
/// reads its input back from L3 only if it stayed there. So the elementwise kernels hand TensorPrimitives
/// slices of at most <see cref="Bytes"/> (ordinary cached stores) whenever the whole output fits in
/// <see cref="MaxCachedBytes"/>; larger outputs keep TensorPrimitives' streaming stores.
/// </summary>
internal static class CacheSlices
{
    /// <summary>Bytes of output per slice: below TensorPrimitives' 256 KB non-temporal threshold.</summary>
    public const int Bytes = 128 * 1024;

    /// <summary>
    /// Outputs up to this size are written through the cache: a binary op then touches at most 12 MB, which stays
    /// in a 32 MB L3 shared with other work (measured on the 2-core EPYC: cached stores are 7–10% faster up to a
    /// 9 MB working set even on a loaded machine; at 12 MB they win only while the machine is otherwise quiet).
    /// </summary>
    public const long MaxCachedBytes = 4L << 20;

    /// <summary>Elements of T per slice.</summary>
    public static int Length<T>() where T : unmanaged => Bytes / Unsafe.SizeOf<T>();

    /// <summary>True when an output of n elements should be written slice by slice.</summary>
    public static bool Split<T>(int n) where T : unmanaged =>
        n > Length<T>() && (long)n * Unsafe.SizeOf<T>() <= MaxCachedBytes;
}
