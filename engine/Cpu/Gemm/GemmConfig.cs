using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

/// <summary>
/// Tile and block sizes of the packed GEMM. The microkernel computes an MR×NR tile of C held in registers
/// (NR = two SIMD vectors); KC is the depth of one packed panel (a kc×NR panel of B stays in L1, an mc×kc
/// block of A in L2), NC bounds the packed B block (L3).
/// </summary>
internal static class GemmConfig
{
    /// <summary>Use the Vector512 microkernel (AVX-512); otherwise Vector256. Tests flip it to cover both.</summary>
    public static bool UseVector512 = Vector512.IsHardwareAccelerated;

    public static int MR => UseVector512 ? 8 : 6;

    public static int NR<T>() => 2 * (UseVector512 ? Vector512<T>.Count : Vector256<T>.Count);

    /// <summary>
    /// Panel depth (64 KB panels of B, chosen by measurement on Zen 4: a deep panel means fewer passes over C,
    /// and the streamed B panel prefetches well from L2).
    /// </summary>
    public static int KC<T>() => typeof(T) == typeof(float) ? 512 : 256;

    /// <summary>
    /// Rows of A packed per block (a multiple of MR): an mc×kc block of A is 128 KB with AVX-512, well inside L2.
    /// On Zen 5, 128 and 256 ran 1024³ no faster.
    /// </summary>
    public static int MC<T>() => UseVector512 ? 64 : 48;

    /// <summary>Columns of B packed per block (a multiple of every NR).</summary>
    public static int NC<T>() => 4096;

    /// <summary>A non-transposed A with at most this many elements (in the rows one thread handles) is read in place, not packed.</summary>
    public const long DirectALimit = 96 * 1024;

    /// <summary>From this many multiply-adds on, a product is split across the threads (waking sleeping workers).</summary>
    public const long ParallelThreshold = 96L * 96 * 96;

    /// <summary>
    /// From this many multiply-adds on (below <see cref="ParallelThreshold"/>), a single product is split in row
    /// bands when the other core is awake: at 48³ one band takes about a microsecond, well above the hand-off cost.
    /// </summary>
    public const long SmallParallelThreshold = 48L * 48 * 48;

    /// <summary>Products with at most this many rows (or columns) take the unpacked matrix-vector path.</summary>
    public const int SmallExtent = 4;
}
