using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// Batched small dense linear algebra on contiguous [batch, n, n] tensors: one matrix per job item,
/// the batch split across cores only when the total work is large (see <see cref="BatchLoop"/>).
/// </summary>
public sealed partial class CpuBackend
{
    public void Cholesky(Tensor a, Tensor l, Tensor info)
    {
        if (a.DType == DType.Float32) LinalgJobs.Cholesky<float>(a, l, info);
        else LinalgJobs.Cholesky<double>(a, l, info);
    }

    public void TriangularSolve(Tensor a, Tensor b, Tensor x, bool lower, bool transposeA, bool unitDiagonal)
    {
        if (a.DType == DType.Float32) LinalgJobs.TriangularSolve<float>(a, b, x, lower, transposeA, unitDiagonal);
        else LinalgJobs.TriangularSolve<double>(a, b, x, lower, transposeA, unitDiagonal);
    }

    public void LuFactor(Tensor a, Tensor lu, Tensor pivots, Tensor info)
    {
        if (a.DType == DType.Float32) LinalgJobs.LuFactor<float>(a, lu, pivots, info);
        else LinalgJobs.LuFactor<double>(a, lu, pivots, info);
    }

    public void LuSolve(Tensor lu, Tensor pivots, Tensor b, Tensor x)
    {
        if (lu.DType == DType.Float32) LinalgJobs.LuSolve<float>(lu, pivots, b, x);
        else LinalgJobs.LuSolve<double>(lu, pivots, b, x);
    }
}

/// <summary>Per-matrix jobs that bind the batched tensors to the single-matrix kernels.</summary>
internal static class LinalgJobs
{
    public static void Cholesky<T>(Tensor a, Tensor l, Tensor info) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Last(a), batch = Batch(a, n);
        var job = new CholeskyJob<T>
        {
            A = a.CpuArray<T>(), AOffset = a.Offset, L = l.CpuArray<T>(), LOffset = l.Offset,
            Info = info.CpuArray<int>(), InfoOffset = info.Offset, N = n,
        };
        BatchLoop.Run(batch, (long)batch * n * n * n / 3, job);
    }

    public static void TriangularSolve<T>(Tensor a, Tensor b, Tensor x, bool lower, bool transposeA, bool unitDiagonal)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Last(a), batch = Batch(a, n), k = Last(x);
        CopyRightHandSide<T>(b, x);
        var job = new TriangularJob<T>
        {
            A = a.CpuArray<T>(), AOffset = a.Offset, X = x.CpuArray<T>(), XOffset = x.Offset,
            N = n, K = k, Lower = lower, TransposeA = transposeA, UnitDiagonal = unitDiagonal,
        };
        BatchLoop.Run(batch, (long)batch * n * n * k, job);
    }

    public static void LuFactor<T>(Tensor a, Tensor lu, Tensor pivots, Tensor info) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Last(a), batch = Batch(a, n);
        CopyRightHandSide<T>(a, lu);
        var job = new LuFactorJob<T>
        {
            Lu = lu.CpuArray<T>(), LuOffset = lu.Offset, Pivots = pivots.CpuArray<int>(), PivotsOffset = pivots.Offset,
            Info = info.CpuArray<int>(), InfoOffset = info.Offset, N = n,
        };
        BatchLoop.Run(batch, (long)batch * n * n * n * 2 / 3, job);
    }

    public static void LuSolve<T>(Tensor lu, Tensor pivots, Tensor b, Tensor x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Last(lu), batch = Batch(lu, n), k = Last(x);
        CopyRightHandSide<T>(b, x);
        var job = new LuSolveJob<T>
        {
            Lu = lu.CpuArray<T>(), LuOffset = lu.Offset, Pivots = pivots.CpuArray<int>(), PivotsOffset = pivots.Offset,
            X = x.CpuArray<T>(), XOffset = x.Offset, N = n, K = k,
        };
        BatchLoop.Run(batch, (long)batch * n * n * k * 2, job);
    }

    // Not Shape[^1]: Shape.Length counts elements, so C#'s index-from-end would use the wrong count.
    private static int Last(Tensor t) => t.Shape[t.Rank - 1];

    private static int Batch(Tensor a, int n) => n == 0 ? (a.Rank >= 3 ? a.Shape[0] : 1) : a.Length / (n * n);

    /// <summary>The solves work in place on x, so x starts as a copy of b (nothing to do when they share memory).</summary>
    private static void CopyRightHandSide<T>(Tensor b, Tensor x) where T : unmanaged
    {
        var from = b.AsSpan<T>();
        var to = x.AsSpan<T>();
        if (!(from.Overlaps(to, out int shift) && shift == 0)) from.CopyTo(to);
    }

    private struct CholeskyJob<T> : IBatchJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T[] A, L;
        public int[] Info;
        public int AOffset, LOffset, InfoOffset, N;

        public readonly void Run(int b)
        {
            int size = N * N;
            Info[InfoOffset + b] = CholeskyKernel.Factor<T>(A.AsSpan(AOffset + b * size, size), L.AsSpan(LOffset + b * size, size), N);
        }
    }

    private struct TriangularJob<T> : IBatchJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T[] A, X;
        public int AOffset, XOffset, N, K;
        public bool Lower, TransposeA, UnitDiagonal;

        public readonly void Run(int b) =>
            TriangularKernel.Solve<T>(A.AsSpan(AOffset + b * N * N, N * N), X.AsSpan(XOffset + b * N * K, N * K),
                N, K, Lower, TransposeA, UnitDiagonal);
    }

    private struct LuFactorJob<T> : IBatchJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T[] Lu;
        public int[] Pivots, Info;
        public int LuOffset, PivotsOffset, InfoOffset, N;

        public readonly void Run(int b) =>
            Info[InfoOffset + b] = LuKernel.Factor<T>(Lu.AsSpan(LuOffset + b * N * N, N * N), Pivots.AsSpan(PivotsOffset + b * N, N), N);
    }

    private struct LuSolveJob<T> : IBatchJob where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T[] Lu, X;
        public int[] Pivots;
        public int LuOffset, PivotsOffset, XOffset, N, K;

        public readonly void Run(int b) =>
            LuKernel.Solve<T>(Lu.AsSpan(LuOffset + b * N * N, N * N), Pivots.AsSpan(PivotsOffset + b * N, N),
                X.AsSpan(XOffset + b * N * K, N * K), N, K);
    }
}
