using System.Numerics;
using System.Numerics.Tensors;

namespace DiffTori.Engine;

/// <summary>
/// Index-select and index-add: whole inner rows move at once, so each row is one span copy
/// (or one vectorized add) chosen by index[j].
/// </summary>
internal static class IndexKernels
{
    public static void Select<T>(Tensor x, int outer, int n, int inner, Tensor index, Tensor y) where T : unmanaged
    {
        int k = index.Length;
        var job = new SelectJob<T>
        {
            X = x.CpuArray<T>(), XOffset = x.Offset, Y = y.CpuArray<T>(), YOffset = y.Offset,
            Index = index.CpuArray<int>(), IndexOffset = index.Offset, N = n, K = k, Inner = inner,
        };
        BatchLoop.Run(outer, (long)outer * k * inner, job);
    }

    public static void Add<T>(Tensor src, int outer, int n, int inner, Tensor index, Tensor y)
        where T : unmanaged, INumber<T>
    {
        int k = index.Length;
        var job = new AddJob<T>
        {
            Src = src.CpuArray<T>(), SrcOffset = src.Offset, Y = y.CpuArray<T>(), YOffset = y.Offset,
            Index = index.CpuArray<int>(), IndexOffset = index.Offset, N = n, K = k, Inner = inner,
        };
        BatchLoop.Run(outer, (long)outer * k * inner, job);
    }

    private struct SelectJob<T> : IBatchJob where T : unmanaged
    {
        public T[] X, Y;
        public int[] Index;
        public int XOffset, YOffset, IndexOffset, N, K, Inner;

        public readonly void Run(int o)
        {
            var index = Index.AsSpan(IndexOffset, K);
            int xSlab = XOffset + o * N * Inner, ySlab = YOffset + o * K * Inner;
            for (int j = 0; j < K; j++)
            {
                int r = index[j];
                if ((uint)r >= (uint)N) throw IndexChecks.Kernel("index_select", r, N);
                X.AsSpan(xSlab + r * Inner, Inner).CopyTo(Y.AsSpan(ySlab + j * Inner, Inner));
            }
        }
    }

    private struct AddJob<T> : IBatchJob where T : unmanaged, INumber<T>
    {
        public T[] Src, Y;
        public int[] Index;
        public int SrcOffset, YOffset, IndexOffset, N, K, Inner;

        public readonly void Run(int o)
        {
            var index = Index.AsSpan(IndexOffset, K);
            int ySlab = YOffset + o * N * Inner, srcSlab = SrcOffset + o * K * Inner;
            for (int j = 0; j < K; j++)
            {
                int r = index[j];
                if ((uint)r >= (uint)N) throw IndexChecks.Kernel("index_add", r, N);
                var row = Y.AsSpan(ySlab + r * Inner, Inner);
                if (Inner == 1) row[0] += Src[srcSlab + j];
                else TensorPrimitives.Add<T>(row, Src.AsSpan(srcSlab + j * Inner, Inner), row);
            }
        }
    }
}
