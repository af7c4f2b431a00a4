using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Batched C = alpha·op(A)·op(B) + beta·C with a 16×16 shared-memory tiled kernel: each group loads a
// tile of op(A) and of op(B), synchronizes, and accumulates their product; grid z is the batch.
public sealed partial class GpuBackend
{
    internal const int GemmTile = 16;

    public void Gemm(Tensor a, Tensor b, Tensor c, in GemmSpec spec)
    {
        RequireFloat("Gemm", c);
        int lda = spec.TransA ? spec.M : spec.K;
        int ldb = spec.TransB ? spec.K : spec.N;
        var args = new GemmArgs(spec.M, spec.N, spec.K, spec.TransA, spec.TransB,
            a.Offset, lda, spec.BatchStrideA, b.Offset, ldb, spec.BatchStrideB, c.Offset, spec.N, spec.BatchStrideC);
        LaunchGemm(a, b, c, args, spec.Batch, spec.Alpha, spec.Beta);
    }

    /// <summary>A GEMM over explicit leading dimensions (used by the convolution's im2col products).</summary>
    private void LaunchGemm(Tensor a, Tensor b, Tensor c, in GemmArgs args, int batch, double alpha, double beta)
    {
        if (args.M == 0 || args.N == 0 || batch == 0) return;
        var config = new KernelConfig(
            new Index3D(Blocks(args.N, GemmTile), Blocks(args.M, GemmTile), batch),
            new Index3D(GemmTile, GemmTile, 1));
        if (c.DType == DType.Float32)
            _f32.Gemm(config, ViewOf<float>(a), ViewOf<float>(b), ViewOf<float>(c), args, (float)alpha, (float)beta);
        else
            _f64.Gemm(config, ViewOf<double>(a), ViewOf<double>(b), ViewOf<double>(c), args, alpha, beta);
    }

    /// <summary>Sizes, transposes, offsets, leading dimensions (row strides as stored) and batch strides.</summary>
    internal readonly struct GemmArgs(int m, int n, int k, bool transA, bool transB,
        int offsetA, int ldA, int batchA, int offsetB, int ldB, int batchB, int offsetC, int ldC, int batchC)
    {
        public readonly int M = m, N = n, K = k, TransA = transA ? 1 : 0, TransB = transB ? 1 : 0;
        public readonly int OffsetA = offsetA, LdA = ldA, BatchA = batchA;
        public readonly int OffsetB = offsetB, LdB = ldB, BatchB = batchB;
        public readonly int OffsetC = offsetC, LdC = ldC, BatchC = batchC;
    }

    private static void GemmKernel<T, TNum>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs g, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        var tileA = SharedMemory.Allocate<T>(GemmTile * GemmTile);
        var tileB = SharedMemory.Allocate<T>(GemmTile * GemmTile);
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * GemmTile + ty, col = Grid.IdxX * GemmTile + tx, batch = Grid.IdxZ;
        int baseA = g.OffsetA + batch * g.BatchA, baseB = g.OffsetB + batch * g.BatchB;
        T sum = T.Zero;
        for (int k0 = 0; k0 < g.K; k0 += GemmTile)
        {
            int ka = k0 + tx, kb = k0 + ty;
            tileA[ty * GemmTile + tx] = row < g.M && ka < g.K
                ? a[baseA + (g.TransA != 0 ? ka * g.LdA + row : row * g.LdA + ka)]
                : T.Zero;
            tileB[ty * GemmTile + tx] = kb < g.K && col < g.N
                ? b[baseB + (g.TransB != 0 ? col * g.LdB + kb : kb * g.LdB + col)]
                : T.Zero;
            Group.Barrier();
            for (int k = 0; k < GemmTile; k++) sum += tileA[ty * GemmTile + k] * tileB[k * GemmTile + tx];
            Group.Barrier();
        }
        if (row < g.M && col < g.N)
        {
            int at = g.OffsetC + batch * g.BatchC + row * g.LdC + col;
            // beta = 0 must not read C: it may hold garbage (NaN) from a pooled buffer.
            c[at] = beta == T.Zero ? alpha * sum : alpha * sum + beta * c[at];
        }
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T>? _gemm;

        public Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T> Gemm =>
            _gemm ??= _acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T>(GemmKernel<T, TNum>);
    }
}
