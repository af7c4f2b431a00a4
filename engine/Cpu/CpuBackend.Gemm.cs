using System.Numerics;
using System.Runtime.Intrinsics;

namespace DiffTori.Engine;

public sealed partial class CpuBackend
{
    public void Gemm(Tensor a, Tensor b, Tensor c, in GemmSpec spec)
    {
        if (c.DType == DType.Float32)
            CpuGemm.Run(a.CpuArray<float>(), a.Offset, b.CpuArray<float>(), b.Offset, c.CpuArray<float>(), c.Offset, spec);
        else if (c.DType == DType.Float64)
            CpuGemm.Run(a.CpuArray<double>(), a.Offset, b.CpuArray<double>(), b.Offset, c.CpuArray<double>(), c.Offset, spec);
        else
            throw new ArgumentException($"gemm: expects float32 or float64 tensors, got {c.DType.Name()}");
    }
}

/// <summary>
/// GEMM entry on managed arrays: batches, the choice between the unpacked small path and the packed
/// blocked path, and the split across cores (batches, or rows/columns of one large product).
/// </summary>
internal static class CpuGemm
{
    public static void Run<T>(T[] a, int offsetA, T[] b, int offsetB, T[] c, int offsetC, in GemmSpec spec)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (spec.Batch == 0 || spec.M == 0 || spec.N == 0) return;
        var g = new GemmOperands<T>
        {
            A = a, B = b, C = c, OffsetA = offsetA, OffsetB = offsetB, OffsetC = offsetC,
            M = spec.M, N = spec.N, K = spec.K, TransA = spec.TransA, TransB = spec.TransB,
            Alpha = T.CreateTruncating(spec.Alpha), Beta = T.CreateTruncating(spec.Beta),
        };
        long work = (long)spec.Batch * spec.M * spec.N * Math.Max(spec.K, 1);
        if (GemvJob<T>.Applies(spec))
        {
            GemvJob<T>.ForThisThread.Run(g);
            return;
        }
        if (RowUpdatesJob<T>.Applies(spec))
        {
            RowUpdatesJob<T>.ForThisThread.Run(g);
            return;
        }
        if (work < GemmConfig.ParallelThreshold || CpuParallel.Threads == 1)
        {
            if (RowSplitJob<T>.Applies(spec))
            {
                RowSplitJob<T>.ForThisThread.Run(g);
                return;
            }
            for (int i = 0; i < spec.Batch; i++) One(At(g, spec, i), 0, g.M, 0, g.N);
            return;
        }
        var job = GemmJob<T>.ForThisThread;
        job.Operands = g;
        job.Spec = spec;
        try { job.Run(CpuParallel.Threads); }
        finally { job.Operands = default; }
    }

    /// <summary>The operands of batch item i.</summary>
    public static GemmOperands<T> At<T>(GemmOperands<T> g, in GemmSpec spec, int i) where T : unmanaged, IFloatingPointIeee754<T>
    {
        g.OffsetA += i * spec.BatchStrideA;
        g.OffsetB += i * spec.BatchStrideB;
        g.OffsetC += i * spec.BatchStrideC;
        return g;
    }

    /// <summary>One product restricted to C[i0..i1, j0..j1].</summary>
    public static void One<T>(in GemmOperands<T> g, int i0, int i1, int j0, int j1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (g.K == 0)
        {
            for (int i = i0; i < i1; i++)
            {
                var row = g.C.AsSpan(g.OffsetC + i * g.N + j0, j1 - j0);
                if (g.Beta == T.Zero) row.Clear();
                else System.Numerics.Tensors.TensorPrimitives.Multiply(row, g.Beta, row);
            }
        }
        else if (i0 == 0 && i1 == g.M && j0 == 0 && j1 == g.N && SmallGemm.Applies(g.M, g.N, g.TransA, g.TransB)) SmallGemm.Run(g);
        else PackedGemm.Run(g, i0, i1, j0, j1);
    }
}

/// <summary>
/// The parallel split of one GEMM call; one cached instance per calling thread (no allocation per call).
/// Threads claim chunks from a shared counter, so a thread that the OS delays does not hold up the call:
/// - many batch items (or small products): chunks of whole batch items;
/// - one large product: one band of C per thread (rows unless C is wider than tall, then columns), each an
///   independent blocked product with its own packing. Sharing one packed B between the threads instead costs
///   a serial packing step and a join per depth slice; on two Zen 5 cores the independent bands ran 1024³ about
///   15% faster, since neither core ever waits for the other and each streams only its own packed blocks.
/// </summary>
internal sealed class GemmJob<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static GemmJob<T>? _forThisThread;
    public static GemmJob<T> ForThisThread => _forThisThread ??= new GemmJob<T>();

    private const int ChunksPerThread = 4;

    public GemmOperands<T> Operands;
    public GemmSpec Spec;
    private bool _batches, _rowBands;
    private int _next, _chunks, _size;

    public void Run(int threads)
    {
        var spec = Spec;
        _batches = spec.Batch >= threads || SmallGemm.Applies(spec.M, spec.N, spec.TransA, spec.TransB);
        if (_batches)
        {
            _size = Math.Max(1, spec.Batch / (threads * ChunksPerThread));
            Launch((spec.Batch + _size - 1) / _size, threads);
            return;
        }
        // Bands in whole microkernel tiles, so no band computes a cut-off tile that a full one would cover.
        _rowBands = spec.M >= spec.N;
        int extent = _rowBands ? spec.M : spec.N, tile = _rowBands ? GemmConfig.MR : GemmConfig.NR<T>();
        int tiles = (extent + tile - 1) / tile, bands = Math.Min(threads, tiles);
        _size = (tiles + bands - 1) / bands * tile;
        Launch(spec.Batch * ((extent + _size - 1) / _size), threads);
    }

    private void Launch(int chunks, int threads)
    {
        _next = 0;
        _chunks = chunks;
        CpuParallel.Run(this, Math.Min(threads, chunks));
    }

    public void Execute(int part, int parts)
    {
        var spec = Spec;
        while (true)
        {
            int chunk = Interlocked.Increment(ref _next) - 1;
            if (chunk >= _chunks) return;
            if (_batches)
            {
                int first = chunk * _size, last = Math.Min(spec.Batch, first + _size);
                for (int i = first; i < last; i++) CpuGemm.One(CpuGemm.At(Operands, spec, i), 0, spec.M, 0, spec.N);
                continue;
            }
            int extent = _rowBands ? spec.M : spec.N, bands = (extent + _size - 1) / _size;
            int start = chunk % bands * _size, end = Math.Min(extent, start + _size);
            var item = CpuGemm.At(Operands, spec, chunk / bands);
            if (_rowBands) CpuGemm.One(item, start, end, 0, spec.N);
            else CpuGemm.One(item, 0, spec.M, start, end);
        }
    }
}

/// <summary>
/// One GEMM call split in fixed parts, one per thread of the pool: the subclass says which part of C a thread
/// computes. The parts are the same on every call, so in a loop each core keeps its share of the operands in its cache.
/// </summary>
internal abstract class FixedSplitGemmJob<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    protected GemmOperands<T> Operands;

    public void Run(in GemmOperands<T> g)
    {
        Operands = g;
        try { CpuParallel.Run(this, CpuParallel.Threads); }
        finally { Operands = default; }
    }

    public abstract void Execute(int part, int parts);
}

/// <summary>
/// A batch-1 linear layer with a large weight, y = x·Wᵀ (W stored [out, in]): the outputs are split in fixed
/// halves (thirds, …) between the threads. The split is the same on every call, so in a loop each core keeps
/// its own part of W in its L2 cache instead of streaming all of W from L3. One cached instance per thread.
/// </summary>
internal sealed class GemvJob<T> : FixedSplitGemmJob<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static GemvJob<T>? _forThisThread;
    public static GemvJob<T> ForThisThread => _forThisThread ??= new GemvJob<T>();

    /// <summary>Weights of at least this many elements (512 KB in float32) are split.</summary>
    public const long ParallelElements = 1 << 17;

    public static bool Applies(in GemmSpec spec) =>
        spec.Batch == 1 && spec.M == 1 && spec.TransB && !spec.TransA && spec.N >= 8
        && (long)spec.N * spec.K >= ParallelElements && CpuParallel.Threads > 1;

    public override void Execute(int part, int parts)
    {
        // Outputs in groups of four (the dot kernel's width); part p takes groups [p·G/parts, (p+1)·G/parts).
        var g = Operands;
        int groups = (g.N + 3) / 4;
        int start = (int)((long)groups * part / parts) * 4, end = Math.Min(g.N, (int)((long)groups * (part + 1) / parts) * 4);
        if (start >= end) return;
        g.OffsetB += start * g.K;
        g.OffsetC += start; // M = 1: C is a single row, so its row stride (N) plays no part
        g.N = end - start;
        SmallGemm.Run(g);
    }
}

/// <summary>
/// A batch-1 product against a large non-transposed right operand, c = a·B: the input gradient δ·W of a linear
/// layer (W stored [out, in]), at most a few rows. The columns are split in fixed halves (thirds, …) of whole
/// vectors between the threads, each run by the single-thread row-update kernel on its window, so the bits are
/// those of one thread and each core keeps its half of B in its own cache across calls. One instance per thread.
/// </summary>
internal sealed class RowUpdatesJob<T> : FixedSplitGemmJob<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static RowUpdatesJob<T>? _forThisThread;
    public static RowUpdatesJob<T> ForThisThread => _forThisThread ??= new RowUpdatesJob<T>();

    public static bool Applies(in GemmSpec spec) =>
        spec.Batch == 1 && spec.M <= GemmConfig.SmallExtent && !spec.TransB && Vector512.IsHardwareAccelerated
        && spec.N >= 2 * Vector512<T>.Count && (long)spec.N * spec.K >= GemvJob<T>.ParallelElements && CpuParallel.Threads > 1;

    public override void Execute(int part, int parts)
    {
        // Part p takes vectors [p·V/parts, (p+1)·V/parts); the last part also takes the columns past the last vector.
        var g = Operands;
        int w = Vector512<T>.Count, vectors = g.N / w;
        int start = (int)((long)vectors * part / parts) * w;
        int end = part == parts - 1 ? g.N : (int)((long)vectors * (part + 1) / parts) * w;
        if (start < end) SmallGemm.FewRowsByRowUpdates(g, start, end);
    }
}

/// <summary>
/// A small single product (64×64×64: a few microseconds) split into fixed bands of whole MR-row tiles, one per
/// thread. The bands are the same on every call, so in a loop each core keeps its rows of A and C in its own
/// cache. It goes through <see cref="CpuParallel.RunSmall"/>: the other core is used only when it is already
/// polling for work or such calls come in a burst, since waking a sleeping thread costs more than the product.
/// </summary>
internal sealed class RowSplitJob<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static RowSplitJob<T>? _forThisThread;
    public static RowSplitJob<T> ForThisThread => _forThisThread ??= new RowSplitJob<T>();

    private GemmOperands<T> _operands;

    public static bool Applies(in GemmSpec spec) =>
        spec.Batch == 1 && (long)spec.M * spec.N * spec.K is >= GemmConfig.SmallParallelThreshold and < GemmConfig.ParallelThreshold
        && CpuParallel.Threads > 1
        && spec.M >= 2 * GemmConfig.MR && !SmallGemm.Applies(spec.M, spec.N, spec.TransA, spec.TransB);

    /// <summary>
    /// The operands are written only when they differ from the previous call's and are kept afterwards (unlike
    /// the other jobs, which clear them): in a loop of identical products the line holding them then stays in
    /// the worker's cache, and a cache miss is a sizable part of a call this short.
    /// </summary>
    public void Run(in GemmOperands<T> g)
    {
        if (!g.SameAs(_operands)) _operands = g;
        int parts = Math.Min(CpuParallel.Threads, g.M / GemmConfig.MR);
        CpuParallel.RunSmall(this, parts);
    }

    public void Execute(int part, int parts) => Band(_operands, part, parts);

    /// <summary>Band p of n: rows [p·T/n, (p+1)·T/n) in whole MR-row tiles (T tiles in all; the last one may be cut).</summary>
    internal static void Band(in GemmOperands<T> g, int part, int parts)
    {
        int mr = GemmConfig.MR, tiles = (g.M + mr - 1) / mr;
        int i0 = tiles * part / parts * mr, i1 = Math.Min(g.M, tiles * (part + 1) / parts * mr);
        if (i0 < i1) CpuGemm.One(g, i0, i1, 0, g.N);
    }
}
