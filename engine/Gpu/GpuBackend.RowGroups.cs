using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Long contiguous rows (inner = 1, n ≥ LongRow): one group of RowGroupSize threads per row. Each
// thread accumulates a strided slice, then ILGPU.Algorithms' Group.AllReduce combines the partials
// and hands the result to every thread (which the softmax and layer norm need for their second pass).
public sealed partial class GpuBackend
{
    /// <summary>Rows at least this long get a whole group each instead of a single thread.</summary>
    internal const int LongRow = 512;

    internal const int RowGroupSize = 128;

    private static bool UseRowGroups(int n, int inner) => inner == 1 && n >= LongRow;

    private static KernelConfig RowGroups(int rows) => new(new Index1D(rows), new Index1D(RowGroupSize));

    private static T GroupSumOf<T, TNum>(T partial)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T> =>
        GroupExtensions.AllReduce<T, GroupSum<T, TNum>>(partial);

    private static T GroupMaxOf<T, TNum>(ArrayView<T> x, int start, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        var max = default(GroupMax<T, TNum>);
        T partial = max.Identity;
        for (int j = Group.IdxX; j < n; j += Group.DimX) partial = max.Apply(partial, x[start + j]);
        return GroupExtensions.AllReduce<T, GroupMax<T, TNum>>(partial);
    }

    private static T GroupSumOf<T, TNum>(ArrayView<T> x, int start, int n)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        T partial = T.Zero;
        for (int j = Group.IdxX; j < n; j += Group.DimX) partial += x[start + j];
        return GroupSumOf<T, TNum>(partial);
    }

    /// <summary>Σ (x − center)² over the row, group-wide.</summary>
    private static T GroupSquaresOf<T, TNum>(ArrayView<T> x, int start, int n, T center)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        T partial = T.Zero;
        for (int j = Group.IdxX; j < n; j += Group.DimX)
        {
            T d = x[start + j] - center;
            partial += d * d;
        }
        return GroupSumOf<T, TNum>(partial);
    }

    private static void ReduceRowGroupKernel<T, TNum>(ArrayView<T> x, ArrayView<T> y, RowShape s, int op, T p0)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int r = Grid.IdxX, n = s.N, start = s.XOffset + r * n;
        T count = TNum.FromDouble(n);
        T result;
        switch ((ReduceOp)op)
        {
            case ReduceOp.Sum:
                result = GroupSumOf<T, TNum>(x, start, n);
                break;
            case ReduceOp.Mean:
                result = GroupSumOf<T, TNum>(x, start, n) / count;
                break;
            case ReduceOp.Max:
                result = GroupMaxOf<T, TNum>(x, start, n);
                break;
            case ReduceOp.Min:
            {
                var min = default(GroupMin<T, TNum>);
                T partial = min.Identity;
                for (int j = Group.IdxX; j < n; j += Group.DimX) partial = min.Apply(partial, x[start + j]);
                result = GroupExtensions.AllReduce<T, GroupMin<T, TNum>>(partial);
                break;
            }
            case ReduceOp.LogSumExp:
            {
                T max = GroupMaxOf<T, TNum>(x, start, n);
                T partial = T.Zero;
                if (!T.IsInfinity(max))
                    for (int j = Group.IdxX; j < n; j += Group.DimX) partial += T.Exp(x[start + j] - max);
                T sum = GroupSumOf<T, TNum>(partial);
                result = T.IsInfinity(max) ? max : max + T.Log(sum);
                break;
            }
            default: // Var
            {
                T mean = GroupSumOf<T, TNum>(x, start, n) / count;
                result = GroupSquaresOf<T, TNum>(x, start, n, mean) / (count - p0);
                break;
            }
        }
        if (Group.IsFirstThread) y[s.YOffset + r] = result;
    }

    private static void SoftmaxRowGroupKernel<T, TNum>(ArrayView<T> x, ArrayView<T> y, RowShape s, int log)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int r = Grid.IdxX, n = s.N, start = s.XOffset + r * n, outStart = s.YOffset + r * n;
        T max = GroupMaxOf<T, TNum>(x, start, n);
        T partial = T.Zero;
        for (int j = Group.IdxX; j < n; j += Group.DimX) partial += T.Exp(x[start + j] - max);
        T sum = GroupSumOf<T, TNum>(partial);
        if (log != 0)
        {
            T shift = max + T.Log(sum);
            for (int j = Group.IdxX; j < n; j += Group.DimX) y[outStart + j] = x[start + j] - shift;
        }
        else
        {
            T scale = T.One / sum;
            for (int j = Group.IdxX; j < n; j += Group.DimX) y[outStart + j] = T.Exp(x[start + j] - max) * scale;
        }
    }

    private static void LayerNormRowGroupKernel<T, TNum>(ArrayView<T> x, ArrayView<T> y, RowShape s, ArrayView<T> mean, ArrayView<T> rstd, Int2 statOffsets, T eps)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int r = Grid.IdxX, n = s.N, start = s.XOffset + r * n, outStart = s.YOffset + r * n;
        T count = TNum.FromDouble(n);
        T mu = GroupSumOf<T, TNum>(x, start, n) / count;
        T inv = T.One / T.Sqrt(GroupSquaresOf<T, TNum>(x, start, n, mu) / count + eps);
        for (int j = Group.IdxX; j < n; j += Group.DimX) y[outStart + j] = (x[start + j] - mu) * inv;
        if (Group.IsFirstThread)
        {
            mean[statOffsets.A + r] = mu;
            rstd[statOffsets.B + r] = inv;
        }
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<KernelConfig, ArrayView<T>, ArrayView<T>, RowShape, int, T>? _reduceRows;
        private Action<KernelConfig, ArrayView<T>, ArrayView<T>, RowShape, int>? _softmaxRows;
        private Action<KernelConfig, ArrayView<T>, ArrayView<T>, RowShape, ArrayView<T>, ArrayView<T>, Int2, T>? _layerNormRows;

        public Action<KernelConfig, ArrayView<T>, ArrayView<T>, RowShape, int, T> ReduceRows =>
            _reduceRows ??= _acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, RowShape, int, T>(ReduceRowGroupKernel<T, TNum>);
        public Action<KernelConfig, ArrayView<T>, ArrayView<T>, RowShape, int> SoftmaxRows =>
            _softmaxRows ??= _acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, RowShape, int>(SoftmaxRowGroupKernel<T, TNum>);
        public Action<KernelConfig, ArrayView<T>, ArrayView<T>, RowShape, ArrayView<T>, ArrayView<T>, Int2, T> LayerNormRows =>
            _layerNormRows ??= _acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, RowShape, ArrayView<T>, ArrayView<T>, Int2, T>(LayerNormRowGroupKernel<T, TNum>);
    }
}
