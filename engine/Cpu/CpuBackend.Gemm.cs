using System.Numerics;

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
        if (work < GemmConfig.ParallelThreshold || CpuParallel.Threads == 1)
        {
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
/// Work is cut into a few chunks per thread (whole batch items, or row/column bands of one product in whole
/// tiles) that threads claim from a shared counter, so a thread that the OS delays does not hold up the call.
/// </summary>
internal sealed class GemmJob<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static GemmJob<T>? _forThisThread;
    public static GemmJob<T> ForThisThread => _forThisThread ??= new GemmJob<T>();

    private const int ChunksPerThread = 4;

    public GemmOperands<T> Operands;
    public GemmSpec Spec;
    private int _next, _chunks, _band, _batchesPerChunk;
    private bool _byBatch, _byRows;

    /// <summary>Plan the chunks for the given number of threads and run them.</summary>
    public void Run(int threads)
    {
        var spec = Spec;
        _next = 0;
        _byBatch = spec.Batch >= threads || SmallGemm.Applies(spec.M, spec.N, spec.TransA, spec.TransB);
        if (_byBatch)
        {
            _batchesPerChunk = Math.Max(1, spec.Batch / (threads * ChunksPerThread));
            _chunks = (spec.Batch + _batchesPerChunk - 1) / _batchesPerChunk;
        }
        else
        {
            // Bands across the longer side of C, each a whole number of tiles.
            _byRows = spec.M >= spec.N;
            int extent = _byRows ? spec.M : spec.N, tile = _byRows ? GemmConfig.MR : GemmConfig.NR<T>();
            int tiles = (extent + tile - 1) / tile;
            int bandTiles = Math.Max(1, (tiles + threads * ChunksPerThread - 1) / (threads * ChunksPerThread));
            _band = bandTiles * tile;
            _chunks = spec.Batch * ((extent + _band - 1) / _band);
        }
        CpuParallel.Run(this, Math.Min(threads, _chunks));
    }

    public void Execute(int part, int parts)
    {
        var spec = Spec;
        int bands = _byBatch ? 1 : _chunks / spec.Batch;
        while (true)
        {
            int chunk = Interlocked.Increment(ref _next) - 1;
            if (chunk >= _chunks) return;
            if (_byBatch)
            {
                int first = chunk * _batchesPerChunk, last = Math.Min(spec.Batch, first + _batchesPerChunk);
                for (int i = first; i < last; i++) CpuGemm.One(CpuGemm.At(Operands, spec, i), 0, spec.M, 0, spec.N);
                continue;
            }
            var g = CpuGemm.At(Operands, spec, chunk / bands);
            int start = chunk % bands * _band;
            if (_byRows) CpuGemm.One(g, start, Math.Min(spec.M, start + _band), 0, spec.N);
            else CpuGemm.One(g, 0, spec.M, start, Math.Min(spec.N, start + _band));
        }
    }
}
