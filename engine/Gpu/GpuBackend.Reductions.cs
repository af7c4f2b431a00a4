using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Reductions, softmax and layer norm over the middle axis of [outer, n, inner]: one thread per
// (outer, inner) row walks its n elements with stride inner (coalesced across neighbouring threads).
// Long contiguous rows go to the group-per-row kernels of GpuBackend.RowGroups.cs instead.
public sealed partial class GpuBackend
{
    public void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y, double p0)
    {
        RequireFloat("Reduce", x);
        if (x.DType == DType.Float32) Reduce<float, GpuFloat32>(op, x, outer, n, inner, y, p0);
        else Reduce<double, GpuFloat64>(op, x, outer, n, inner, y, p0);
    }

    private void Reduce<T, TNum>(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y, double p0)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int rows = outer * inner;
        if (rows == 0) return;
        var kernels = Real<T, TNum>();
        var shape = new RowShape(x.Offset, y.Offset, n, inner);
        if (op is ReduceOp.ArgMax or ReduceOp.ArgMin)
            kernels.ArgReduce(rows, ViewOf<T>(x), ViewOf<int>(y), shape, op == ReduceOp.ArgMax ? 1 : 0);
        else if (UseRowGroups(n, inner))
            kernels.ReduceRows(RowGroups(rows), ViewOf<T>(x), ViewOf<T>(y), shape, (int)op, TNum.FromDouble(p0));
        else
            kernels.Reduce(rows, ViewOf<T>(x), ViewOf<T>(y), shape, (int)op, TNum.FromDouble(p0));
    }

    public void Softmax(Tensor x, int outer, int n, int inner, Tensor y, bool log)
    {
        RequireFloat("Softmax", x);
        int rows = outer * inner;
        if (rows == 0 || n == 0) return;
        var shape = new RowShape(x.Offset, y.Offset, n, inner);
        if (UseRowGroups(n, inner))
        {
            if (x.DType == DType.Float32) _f32.SoftmaxRows(RowGroups(rows), ViewOf<float>(x), ViewOf<float>(y), shape, log ? 1 : 0);
            else _f64.SoftmaxRows(RowGroups(rows), ViewOf<double>(x), ViewOf<double>(y), shape, log ? 1 : 0);
        }
        else if (x.DType == DType.Float32) _f32.Softmax(rows, ViewOf<float>(x), ViewOf<float>(y), shape, log ? 1 : 0);
        else _f64.Softmax(rows, ViewOf<double>(x), ViewOf<double>(y), shape, log ? 1 : 0);
    }

    public void LayerNorm(Tensor x, int rows, int n, double eps, Tensor y, Tensor mean, Tensor rstd)
    {
        RequireFloat("LayerNorm", x);
        if (rows == 0) return;
        var shape = new RowShape(x.Offset, y.Offset, n, 1);
        var stats = new Int2(mean.Offset, rstd.Offset);
        if (UseRowGroups(n, 1))
        {
            if (x.DType == DType.Float32)
                _f32.LayerNormRows(RowGroups(rows), ViewOf<float>(x), ViewOf<float>(y), shape, ViewOf<float>(mean), ViewOf<float>(rstd), stats, (float)eps);
            else
                _f64.LayerNormRows(RowGroups(rows), ViewOf<double>(x), ViewOf<double>(y), shape, ViewOf<double>(mean), ViewOf<double>(rstd), stats, eps);
        }
        else if (x.DType == DType.Float32)
            _f32.LayerNorm(rows, ViewOf<float>(x), ViewOf<float>(y), shape, ViewOf<float>(mean), ViewOf<float>(rstd), stats, (float)eps);
        else
            _f64.LayerNorm(rows, ViewOf<double>(x), ViewOf<double>(y), shape, ViewOf<double>(mean), ViewOf<double>(rstd), stats, eps);
    }

    /// <summary>Where row r of an [outer, n, inner] layout starts in x, and where its result goes.</summary>
    internal readonly struct RowShape(int xOffset, int yOffset, int n, int inner)
    {
        public readonly int XOffset = xOffset, YOffset = yOffset, N = n, Inner = inner;

        /// <summary>Index of element 0 of row r in x (its elements follow with stride Inner).</summary>
        public int RowStart(int r)
        {
            int o = r / Inner;
            return XOffset + o * N * Inner + (r - o * Inner);
        }
    }

    internal readonly struct Int2(int a, int b)
    {
        public readonly int A = a, B = b;
    }

    // ----- kernels -----

    private static void ReduceKernel<T, TNum>(Index1D r, ArrayView<T> x, ArrayView<T> y, RowShape s, int op, T p0)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int start = s.RowStart(r), n = s.N, step = s.Inner;
        T result;
        switch ((ReduceOp)op)
        {
            case ReduceOp.Sum:
                result = Sum(x, start, n, step);
                break;
            case ReduceOp.Mean:
                result = Sum(x, start, n, step) / TNum.FromDouble(n);
                break;
            case ReduceOp.Max:
                result = Extreme(x, start, n, step, true);
                break;
            case ReduceOp.Min:
                result = Extreme(x, start, n, step, false);
                break;
            case ReduceOp.LogSumExp:
                result = LogSumExp(x, start, n, step);
                break;
            default: // Var, two-pass
            {
                T mean = Sum(x, start, n, step) / TNum.FromDouble(n);
                T squares = T.Zero;
                for (int j = 0; j < n; j++)
                {
                    T d = x[start + j * step] - mean;
                    squares += d * d;
                }
                result = squares / (TNum.FromDouble(n) - p0);
                break;
            }
        }
        y[s.YOffset + r] = result;
    }

    private static void ArgReduceKernel<T, TNum>(Index1D r, ArrayView<T> x, ArrayView<int> y, RowShape s, int isMax)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int start = s.RowStart(r), step = s.Inner;
        int best = 0;
        if (s.N == 0)
        {
            y[s.YOffset + r] = 0; // an empty row has no element to read
            return;
        }
        T bestValue = x[start];
        for (int j = 1; j < s.N; j++)
        {
            T v = x[start + j * step];
            if (T.IsNaN(bestValue)) break; // NaN wins, as in PyTorch
            bool better = T.IsNaN(v) || (isMax != 0 ? v > bestValue : v < bestValue);
            if (better)
            {
                best = j;
                bestValue = v;
            }
        }
        y[s.YOffset + r] = best;
    }

    private static void SoftmaxKernel<T, TNum>(Index1D r, ArrayView<T> x, ArrayView<T> y, RowShape s, int log)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int start = s.RowStart(r), n = s.N, step = s.Inner;
        int outStart = start - s.XOffset + s.YOffset;
        T max = Extreme(x, start, n, step, true);
        T sum = T.Zero;
        for (int j = 0; j < n; j++) sum += T.Exp(x[start + j * step] - max);
        if (log != 0)
        {
            T logSum = T.Log(sum);
            for (int j = 0; j < n; j++) y[outStart + j * step] = x[start + j * step] - max - logSum;
        }
        else
        {
            T scale = T.One / sum;
            for (int j = 0; j < n; j++) y[outStart + j * step] = T.Exp(x[start + j * step] - max) * scale;
        }
    }

    private static void LayerNormKernel<T, TNum>(Index1D r, ArrayView<T> x, ArrayView<T> y, RowShape s, ArrayView<T> mean, ArrayView<T> rstd, Int2 statOffsets, T eps)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        int n = s.N, start = s.XOffset + r * n, outStart = s.YOffset + r * n;
        T count = TNum.FromDouble(n);
        T mu = Sum(x, start, n, 1) / count;
        T squares = T.Zero;
        for (int j = 0; j < n; j++)
        {
            T d = x[start + j] - mu;
            squares += d * d;
        }
        T inv = T.One / T.Sqrt(squares / count + eps);
        for (int j = 0; j < n; j++) y[outStart + j] = (x[start + j] - mu) * inv;
        mean[statOffsets.A + r] = mu;
        rstd[statOffsets.B + r] = inv;
    }

    private static T Sum<T>(ArrayView<T> x, int start, int n, int step) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int j = 0; j < n; j++) sum += x[start + j * step];
        return sum;
    }

    /// <summary>Max (or min) of a row; NaN propagates.</summary>
    private static T Extreme<T>(ArrayView<T> x, int start, int n, int step, bool max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T best = max ? T.NegativeInfinity : T.PositiveInfinity;
        for (int j = 0; j < n; j++)
        {
            T v = x[start + j * step];
            if (T.IsNaN(v)) return v;
            if (max ? v > best : v < best) best = v;
        }
        return best;
    }

    private static T LogSumExp<T>(ArrayView<T> x, int start, int n, int step) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = Extreme(x, start, n, step, true);
        if (T.IsInfinity(max)) return max; // all −∞ → −∞; any +∞ → +∞
        T sum = T.Zero;
        for (int j = 0; j < n; j++) sum += T.Exp(x[start + j * step] - max);
        return max + T.Log(sum);
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<Index1D, ArrayView<T>, ArrayView<T>, RowShape, int, T>? _reduce;
        private Action<Index1D, ArrayView<T>, ArrayView<int>, RowShape, int>? _argReduce;
        private Action<Index1D, ArrayView<T>, ArrayView<T>, RowShape, int>? _softmax;
        private Action<Index1D, ArrayView<T>, ArrayView<T>, RowShape, ArrayView<T>, ArrayView<T>, Int2, T>? _layerNorm;

        public Action<Index1D, ArrayView<T>, ArrayView<T>, RowShape, int, T> Reduce =>
            _reduce ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, RowShape, int, T>(ReduceKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<int>, RowShape, int> ArgReduce =>
            _argReduce ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<int>, RowShape, int>(ArgReduceKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<T>, RowShape, int> Softmax =>
            _softmax ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, RowShape, int>(SoftmaxKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, ArrayView<T>, RowShape, ArrayView<T>, ArrayView<T>, Int2, T> LayerNorm =>
            _layerNorm ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, RowShape, ArrayView<T>, ArrayView<T>, Int2, T>(LayerNormKernel<T, TNum>);
    }
}
