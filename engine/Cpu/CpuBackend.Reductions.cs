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

    // Parallel branches in their own methods, so that only they allocate a closure.
    private static void ReduceParallel<T>(ReduceOp op, T[] xs, int xo, int length, T[] ys, int[] yi, int yo, int yio,
        int n, int inner, int units, int parts, double correction)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Parallel.For(0, parts, k =>
        {
            var (start, count) = Partition(units, parts, k);
            ReduceUnits(op, xs.AsSpan(xo, length), ys.AsSpan(yo), yi.AsSpan(yio), n, inner, start, count, correction);
        });

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
        Parallel.For(0, parts, k =>
        {
            var (start, count) = Partition(units, parts, k);
            SoftmaxUnits(xs.AsSpan(xo, length), ys.AsSpan(yo, length), n, inner, start, count, log);
        });

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
        Parallel.For(0, parts, k =>
        {
            var (start, count) = Partition(rows, parts, k);
            LayerNormRows(xs, ys, ms, rs, xo, yo, mo, ro, n, eps, start, count);
        });

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
