using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// Gather and scatter-add: every element has its own index, so these are plain element loops
/// over [outer, k, inner] with the row index taken from the index tensor.
/// </summary>
internal static class GatherKernels
{
    public static void Gather<T>(Tensor x, int outer, int n, int inner, Tensor index, int k, Tensor y) where T : unmanaged
    {
        var job = new GatherJob<T>
        {
            X = x.CpuArray<T>(), XOffset = x.Offset, Y = y.CpuArray<T>(), YOffset = y.Offset,
            Index = index.CpuArray<int>(), IndexOffset = index.Offset, N = n, K = k, Inner = inner,
        };
        BatchLoop.Run(outer, (long)outer * k * inner, job);
    }

    public static void ScatterAdd<T>(Tensor src, int outer, int n, int inner, Tensor index, int k, Tensor y)
        where T : unmanaged, INumber<T>
    {
        var job = new ScatterAddJob<T>
        {
            Src = src.CpuArray<T>(), SrcOffset = src.Offset, Y = y.CpuArray<T>(), YOffset = y.Offset,
            Index = index.CpuArray<int>(), IndexOffset = index.Offset, N = n, K = k, Inner = inner,
        };
        BatchLoop.Run(outer, (long)outer * k * inner, job);
    }

    private struct GatherJob<T> : IBatchJob where T : unmanaged
    {
        public T[] X, Y;
        public int[] Index;
        public int XOffset, YOffset, IndexOffset, N, K, Inner;

        public readonly void Run(int o)
        {
            int inner = Inner, n = N;
            var x = X.AsSpan(XOffset + o * n * inner, n * inner);
            var y = Y.AsSpan(YOffset + o * K * inner, K * inner);
            var index = Index.AsSpan(IndexOffset + o * K * inner, K * inner);
            for (int j = 0, e = 0; j < K; j++)
            {
                for (int i = 0; i < inner; i++, e++)
                {
                    int r = index[e];
                    if ((uint)r >= (uint)n) throw IndexChecks.Kernel("gather", r, n);
                    y[e] = x[r * inner + i];
                }
            }
        }
    }

    private struct ScatterAddJob<T> : IBatchJob where T : unmanaged, INumber<T>
    {
        public T[] Src, Y;
        public int[] Index;
        public int SrcOffset, YOffset, IndexOffset, N, K, Inner;

        public readonly void Run(int o)
        {
            int inner = Inner, n = N;
            var y = Y.AsSpan(YOffset + o * n * inner, n * inner);
            var src = Src.AsSpan(SrcOffset + o * K * inner, K * inner);
            var index = Index.AsSpan(IndexOffset + o * K * inner, K * inner);
            for (int j = 0, e = 0; j < K; j++)
            {
                for (int i = 0; i < inner; i++, e++)
                {
                    int r = index[e];
                    if ((uint)r >= (uint)n) throw IndexChecks.Kernel("scatter_add", r, n);
                    y[r * inner + i] += src[e];
                }
            }
        }
    }
}
