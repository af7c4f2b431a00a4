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
        try { CpuParallel.Run(job, CpuParallel.Threads); }
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

/// <summary>The parallel split of one GEMM call; one cached instance per calling thread (no allocation per call).</summary>
internal sealed class GemmJob<T> : IParallelWork where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic] private static GemmJob<T>? _forThisThread;
    public static GemmJob<T> ForThisThread => _forThisThread ??= new GemmJob<T>();

    public GemmOperands<T> Operands;
    public GemmSpec Spec;

    public void Execute(int part, int parts)
    {
        var spec = Spec;
        if (spec.Batch >= parts)
        {
            // Whole batch items per thread.
            int first = (int)((long)spec.Batch * part / parts), last = (int)((long)spec.Batch * (part + 1) / parts);
            for (int i = first; i < last; i++) CpuGemm.One(CpuGemm.At(Operands, spec, i), 0, spec.M, 0, spec.N);
            return;
        }
        for (int i = 0; i < spec.Batch; i++)
        {
            var g = CpuGemm.At(Operands, spec, i);
            if (SmallGemm.Applies(spec.M, spec.N, spec.TransA, spec.TransB))
            {
                if (part == 0) CpuGemm.One(g, 0, spec.M, 0, spec.N);
                continue;
            }
            // Split the longer side of C, in whole tiles.
            if (spec.M >= spec.N)
            {
                var (i0, i1) = Range(spec.M, GemmConfig.MR, part, parts);
                if (i1 > i0) CpuGemm.One(g, i0, i1, 0, spec.N);
            }
            else
            {
                var (j0, j1) = Range(spec.N, GemmConfig.NR<T>(), part, parts);
                if (j1 > j0) CpuGemm.One(g, 0, spec.M, j0, j1);
            }
        }
    }

    private static (int Start, int End) Range(int extent, int tile, int part, int parts)
    {
        int tiles = (extent + tile - 1) / tile;
        int start = (int)((long)tiles * part / parts) * tile, end = (int)((long)tiles * (part + 1) / parts) * tile;
        return (Math.Min(start, extent), Math.Min(end, extent));
    }
}
