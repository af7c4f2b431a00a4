using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Batched C = alpha·op(A)·op(B) + beta·C with shared-memory tiled kernels; grid z is the batch.
// Small products: 16×16 groups, one output per thread. Larger ones: the same 16×16 groups cover a
// 64×64 block of C, each thread keeping a 4×4 micro-tile in registers, so every value loaded from
// shared memory feeds four multiply-adds instead of one.
public sealed partial class GpuBackend
{
    internal const int GemmTile = 16;

    /// <summary>Side of the C block one group computes in the register-blocked kernel (GemmTile × 4).</summary>
    internal const int GemmBlock = 64;

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
        if (args.M > 2 * GemmTile && args.N > 2 * GemmTile)
        {
            var blocked = new KernelConfig(
                new Index3D(Blocks(args.N, GemmBlock), Blocks(args.M, GemmBlock), batch),
                new Index3D(GemmTile, GemmTile, 1));
            if (c.DType == DType.Float32)
                _f32.GemmBlocked(blocked, ViewOf<float>(a), ViewOf<float>(b), ViewOf<float>(c), args, (float)alpha, (float)beta);
            else
                _f64.GemmBlocked(blocked, ViewOf<double>(a), ViewOf<double>(b), ViewOf<double>(c), args, alpha, beta);
            return;
        }
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

    /// <summary>Four accumulators: one row of a thread's 4×4 micro-tile (plain fields stay in registers).</summary>
    private struct Quad<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T V0, V1, V2, V3;

        public void Add(T a, T b0, T b1, T b2, T b3)
        {
            V0 += a * b0;
            V1 += a * b1;
            V2 += a * b2;
            V3 += a * b3;
        }
    }

    private static T OpA<T>(ArrayView<T> a, int baseA, in GemmArgs g, int row, int k) where T : unmanaged =>
        a[baseA + (g.TransA != 0 ? k * g.LdA + row : row * g.LdA + k)];

    private static T OpB<T>(ArrayView<T> b, int baseB, in GemmArgs g, int k, int col) where T : unmanaged =>
        b[baseB + (g.TransB != 0 ? col * g.LdB + k : k * g.LdB + col)];

    private static void StoreC<T>(ArrayView<T> c, int baseC, in GemmArgs g, int row, int col, T sum, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row >= g.M || col >= g.N) return;
        int at = baseC + row * g.LdC + col;
        c[at] = beta == T.Zero ? alpha * sum : alpha * sum + beta * c[at];
    }

    private static void StoreRow<T>(ArrayView<T> c, int baseC, in GemmArgs g, int row, int col0, in Quad<T> q, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        StoreC(c, baseC, g, row, col0, q.V0, alpha, beta);
        StoreC(c, baseC, g, row, col0 + GemmTile, q.V1, alpha, beta);
        StoreC(c, baseC, g, row, col0 + 2 * GemmTile, q.V2, alpha, beta);
        StoreC(c, baseC, g, row, col0 + 3 * GemmTile, q.V3, alpha, beta);
    }

    /// <summary>
    /// One 64×64 block of C per 16×16 group. Thread (tx, ty) owns rows ty + 16i and columns tx + 16j
    /// (i, j &lt; 4) of the block. Each step stages a 64×16 slice of op(A) and a 16×64 slice of op(B)
    /// in shared memory (k-major, so the inner loop reads both with unit stride across threads).
    /// </summary>
    private static void GemmBlockedKernel<T, TNum>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs g, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        var tileA = SharedMemory.Allocate<T>(GemmTile * GemmBlock);   // [k][m]
        var tileB = SharedMemory.Allocate<T>(GemmTile * GemmBlock);   // [k][n]
        int tx = Group.IdxX, ty = Group.IdxY, t = ty * GemmTile + tx;
        int blockRow = Grid.IdxY * GemmBlock, blockCol = Grid.IdxX * GemmBlock, batch = Grid.IdxZ;
        int baseA = g.OffsetA + batch * g.BatchA, baseB = g.OffsetB + batch * g.BatchB;
        var r0 = default(Quad<T>);
        var r1 = default(Quad<T>);
        var r2 = default(Quad<T>);
        var r3 = default(Quad<T>);
        for (int k0 = 0; k0 < g.K; k0 += GemmTile)
        {
            for (int q = 0; q < 4; q++)
            {
                int e = t + q * GemmTile * GemmTile;
                int m = e / GemmTile, ka = e - m * GemmTile;          // A slice: 64 rows × 16 k
                int row = blockRow + m, k = k0 + ka;
                tileA[ka * GemmBlock + m] = row < g.M && k < g.K ? OpA(a, baseA, g, row, k) : T.Zero;
                int kb = e / GemmBlock, n = e - kb * GemmBlock;        // B slice: 16 k × 64 columns
                int col = blockCol + n;
                k = k0 + kb;
                tileB[kb * GemmBlock + n] = k < g.K && col < g.N ? OpB(b, baseB, g, k, col) : T.Zero;
            }
            Group.Barrier();
            for (int kk = 0; kk < GemmTile; kk++)
            {
                int ka = kk * GemmBlock;
                T b0 = tileB[ka + tx], b1 = tileB[ka + tx + GemmTile], b2 = tileB[ka + tx + 2 * GemmTile], b3 = tileB[ka + tx + 3 * GemmTile];
                r0.Add(tileA[ka + ty], b0, b1, b2, b3);
                r1.Add(tileA[ka + ty + GemmTile], b0, b1, b2, b3);
                r2.Add(tileA[ka + ty + 2 * GemmTile], b0, b1, b2, b3);
                r3.Add(tileA[ka + ty + 3 * GemmTile], b0, b1, b2, b3);
            }
            Group.Barrier();
        }
        int baseC = g.OffsetC + batch * g.BatchC, col0 = blockCol + tx;
        StoreRow(c, baseC, g, blockRow + ty, col0, r0, alpha, beta);
        StoreRow(c, baseC, g, blockRow + ty + GemmTile, col0, r1, alpha, beta);
        StoreRow(c, baseC, g, blockRow + ty + 2 * GemmTile, col0, r2, alpha, beta);
        StoreRow(c, baseC, g, blockRow + ty + 3 * GemmTile, col0, r3, alpha, beta);
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T>? _gemmBlocked;

        public Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T> GemmBlocked =>
            _gemmBlocked ??= _acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T>(GemmBlockedKernel<T, TNum>);
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T>? _gemm;

        public Action<KernelConfig, ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T> Gemm =>
            _gemm ??= _acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmArgs, T, T>(GemmKernel<T, TNum>);
    }
}
