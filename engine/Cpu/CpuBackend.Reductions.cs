using System.Numerics;

namespace DiffTori.Engine;

/// <summary>
/// Reduction, softmax and layer-norm kernels over dense [outer, n, inner] arrays. Work is cut into
/// units (one outer row, or one block of columns of one outer index) and the units are spread across
/// cores when the array is large.
/// </summary>
public sealed partial class CpuBackend
{
    public void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y, double p0)
    {
        if (x.DType == DType.Float32) ReduceTyped<float>(op, x, outer, n, inner, y, p0);
        else ReduceTyped<double>(op, x, outer, n, inner, y, p0);
    }

    public void Softmax(Tensor x, int outer, int n, int inner, Tensor y, bool log)
    {
        if (x.DType == DType.Float32) SoftmaxTyped<float>(x, outer, n, inner, y, log);
        else SoftmaxTyped<double>(x, outer, n, inner, y, log);
    }

    public void LayerNorm(Tensor x, int rows, int n, double eps, Tensor y, Tensor mean, Tensor rstd)
    {
        if (x.DType == DType.Float32) LayerNormTyped<float>(x, rows, n, eps, y, mean, rstd);
        else LayerNormTyped<double>(x, rows, n, eps, y, mean, rstd);
    }

    /// <summary>Units of work for [outer, n, inner]: one per outer row when inner = 1, else one per column block.</summary>
    private static int BlocksPerOuter(int inner) => inner == 1 ? 1 : (inner + ReduceKernels.Columns - 1) / ReduceKernels.Columns;

    private static void ReduceTyped<T>(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y, double correction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (outer == 0 || inner == 0) return;
        bool arg = op is ReduceOp.ArgMax or ReduceOp.ArgMin;
        T[] xs = x.CpuArray<T>();
        T[] ys = arg ? [] : y.CpuArray<T>();
        int[] yi = arg ? y.CpuArray<int>() : [];
        int xo = x.Offset, yo = y.Offset, length = outer * n * inner;
        int perOuter = BlocksPerOuter(inner), units = outer * perOuter;
        int parts = Parallelism.Blocks((long)outer * Math.Max(n, 1) * inner, units);
        if (parts == 1)
        {
            ReduceUnits(op, xs.AsSpan(xo, length), ys.AsSpan(arg ? 0 : yo), yi.AsSpan(arg ? yo : 0), n, inner, 0, units, correction);
            return;
        }
        ReduceParallel(op, xs, xo, length, ys, yi, arg ? 0 : yo, arg ? yo : 0, n, inner, units, parts, correction);
    }

    // Parallel branches go through a cached job per thread (see ChunkedWork): nothing is allocated per call.
    private static void ReduceParallel<T>(ReduceOp op, T[] xs, int xo, int length, T[] ys, int[] yi, int yo, int yio,
        int n, int inner, int units, int parts, double correction)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        ReduceJob<T>.ForThisThread.Run(op, xs, xo, length, ys, yi, yo, yio, n, inner, units, parts, correction);

    /// <summary>Block k of a reduction: a range of work units.</summary>
    private sealed class ReduceJob<T> : ChunkedWork where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static ReduceJob<T>? _forThisThread;
        public static ReduceJob<T> ForThisThread => _forThisThread ??= new ReduceJob<T>();

        private ReduceOp _op;
        private T[] _xs = [], _ys = [];
        private int[] _yi = [];
        private int _xo, _length, _yo, _yio, _n, _inner, _units, _parts;
        private double _correction;

        public void Run(ReduceOp op, T[] xs, int xo, int length, T[] ys, int[] yi, int yo, int yio, int n, int inner, int units, int parts, double correction)
        {
            (_op, _xs, _xo, _length, _ys, _yi, _yo, _yio) = (op, xs, xo, length, ys, yi, yo, yio);
            (_n, _inner, _units, _parts, _correction) = (n, inner, units, parts, correction);
            RunChunks(parts);
        }

        protected override void RunChunk(int k)
        {
            var (start, count) = Partition(_units, _parts, k);
            ReduceUnits(_op, _xs.AsSpan(_xo, _length), _ys.AsSpan(_yo), _yi.AsSpan(_yio), _n, _inner, start, count, _correction);
        }

        protected override void Clear()
        {
            _xs = _ys = [];
            _yi = [];
        }
    }

    private static void ReduceUnits<T>(ReduceOp op, ReadOnlySpan<T> x, Span<T> y, Span<int> yi, int n, int inner, int first, int count, double correction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int perOuter = BlocksPerOuter(inner);
        for (int u = first; u < first + count; u++)
        {
            if (inner == 1)
            {
                ReduceKernels.Row(op, x.Slice(u * n, n), y, yi, u, correction);
                continue;
            }
            int o = u / perOuter, c0 = (u % perOuter) * ReduceKernels.Columns;
            ReduceKernels.Block(op, x, n, inner, o, c0, Math.Min(ReduceKernels.Columns, inner - c0), y, yi, correction);
        }
    }

    private static void SoftmaxTyped<T>(Tensor x, int outer, int n, int inner, Tensor y, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int length = outer * n * inner;
        if (length == 0) return;
        T[] xs = x.CpuArray<T>(), ys = y.CpuArray<T>();
        int xo = x.Offset, yo = y.Offset;
        int units = outer * BlocksPerOuter(inner);
        int parts = Parallelism.Blocks(length, units);
        if (parts == 1)
        {
            SoftmaxUnits(xs.AsSpan(xo, length), ys.AsSpan(yo, length), n, inner, 0, units, log);
            return;
        }
        SoftmaxParallel(xs, xo, ys, yo, length, n, inner, units, parts, log);
    }

    private static void SoftmaxParallel<T>(T[] xs, int xo, T[] ys, int yo, int length, int n, int inner, int units, int parts, bool log)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        SoftmaxJob<T>.ForThisThread.Run(xs, xo, ys, yo, length, n, inner, units, parts, log);

    /// <summary>Block k of a softmax: a range of work units (rows, or column blocks).</summary>
    private sealed class SoftmaxJob<T> : ChunkedWork where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static SoftmaxJob<T>? _forThisThread;
        public static SoftmaxJob<T> ForThisThread => _forThisThread ??= new SoftmaxJob<T>();

        private T[] _xs = [], _ys = [];
        private int _xo, _yo, _length, _n, _inner, _units, _parts;
        private bool _log;

        public void Run(T[] xs, int xo, T[] ys, int yo, int length, int n, int inner, int units, int parts, bool log)
        {
            (_xs, _xo, _ys, _yo, _length, _n, _inner, _units, _parts, _log) = (xs, xo, ys, yo, length, n, inner, units, parts, log);
            RunChunks(parts);
        }

        protected override void RunChunk(int k)
        {
            var (start, count) = Partition(_units, _parts, k);
            SoftmaxUnits(_xs.AsSpan(_xo, _length), _ys.AsSpan(_yo, _length), _n, _inner, start, count, _log);
        }

        protected override void Clear() => _xs = _ys = [];
    }

    private static void SoftmaxUnits<T>(ReadOnlySpan<T> x, Span<T> y, int n, int inner, int first, int count, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int perOuter = BlocksPerOuter(inner);
        for (int u = first; u < first + count; u++)
        {
            if (inner == 1)
            {
                SoftmaxKernels.Row(x.Slice(u * n, n), y.Slice(u * n, n), log);
                continue;
            }
            int o = u / perOuter, c0 = (u % perOuter) * ReduceKernels.Columns;
            SoftmaxKernels.Block(x, y, n, inner, o, c0, Math.Min(ReduceKernels.Columns, inner - c0), log);
        }
    }

    private static void LayerNormTyped<T>(Tensor x, int rows, int n, double eps, Tensor y, Tensor mean, Tensor rstd)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (rows == 0) return;
        T[] xs = x.CpuArray<T>(), ys = y.CpuArray<T>(), ms = mean.CpuArray<T>(), rs = rstd.CpuArray<T>();
        int xo = x.Offset, yo = y.Offset, mo = mean.Offset, ro = rstd.Offset;
        T e = T.CreateTruncating(eps);
        int parts = Parallelism.Blocks((long)rows * n, rows);
        if (parts == 1)
        {
            LayerNormRows(xs, ys, ms, rs, xo, yo, mo, ro, n, e, 0, rows);
            return;
        }
        LayerNormParallel(xs, ys, ms, rs, xo, yo, mo, ro, n, e, rows, parts);
    }

    private static void LayerNormParallel<T>(T[] xs, T[] ys, T[] ms, T[] rs, int xo, int yo, int mo, int ro, int n, T eps, int rows, int parts)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        LayerNormJob<T>.ForThisThread.Run(xs, ys, ms, rs, xo, yo, mo, ro, n, eps, rows, parts);

    /// <summary>Block k of a layer norm: a range of rows.</summary>
    private sealed class LayerNormJob<T> : ChunkedWork where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static LayerNormJob<T>? _forThisThread;
        public static LayerNormJob<T> ForThisThread => _forThisThread ??= new LayerNormJob<T>();

        private T[] _xs = [], _ys = [], _ms = [], _rs = [];
        private int _xo, _yo, _mo, _ro, _n, _rows, _parts;
        private T _eps;

        public void Run(T[] xs, T[] ys, T[] ms, T[] rs, int xo, int yo, int mo, int ro, int n, T eps, int rows, int parts)
        {
            (_xs, _ys, _ms, _rs, _xo, _yo, _mo, _ro) = (xs, ys, ms, rs, xo, yo, mo, ro);
            (_n, _eps, _rows, _parts) = (n, eps, rows, parts);
            RunChunks(parts);
        }

        protected override void RunChunk(int k)
        {
            var (start, count) = Partition(_rows, _parts, k);
            LayerNormRows(_xs, _ys, _ms, _rs, _xo, _yo, _mo, _ro, _n, _eps, start, count);
        }

        protected override void Clear() => _xs = _ys = _ms = _rs = [];
    }

    private static void LayerNormRows<T>(T[] xs, T[] ys, T[] ms, T[] rs, int xo, int yo, int mo, int ro, int n, T eps, int first, int count)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = first; r < first + count; r++)
        {
            LayerNormKernels.Row<T>(xs.AsSpan(xo + r * n, n), ys.AsSpan(yo + r * n, n), out var m, out var s, eps);
            ms[mo + r] = m;
            rs[ro + r] = s;
        }
    }
}
