using System.Numerics;
using System.Numerics.Tensors;

namespace DiffTori.Engine;

/// <summary>
/// Softmax / log-softmax along n of a dense [outer, n, inner] array, one outer index (and, when
/// inner &gt; 1, one block of up to <see cref="ReduceKernels.Columns"/> columns) at a time. The row
/// maximum is subtracted first, so large inputs cannot overflow.
/// </summary>
internal static class SoftmaxKernels
{
    /// <summary>One contiguous row (inner = 1).</summary>
    public static void Row<T>(ReadOnlySpan<T> x, Span<T> y, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, m, y);
        if (!log)
        {
            TensorPrimitives.Exp(y, y);
            TensorPrimitives.Divide(y, TensorPrimitives.Sum<T>(y), y);
            return;
        }
        // y = (x − m) − log Σ exp(x − m); the exponentials go through a stack chunk.
        Span<T> chunk = stackalloc T[ReduceKernels.Columns];
        T sum = T.Zero;
        for (int start = 0; start < y.Length; start += chunk.Length)
        {
            int len = Math.Min(chunk.Length, y.Length - start);
            TensorPrimitives.Exp(y.Slice(start, len), chunk[..len]);
            sum += TensorPrimitives.Sum<T>(chunk[..len]);
        }
        TensorPrimitives.Subtract(y, T.Log(sum), y);
    }

    /// <summary>Columns [c0, c0 + count) of outer index o when inner &gt; 1.</summary>
    public static void Block<T>(ReadOnlySpan<T> x, Span<T> y, int n, int inner, int o, int c0, int count, bool log)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int baseIndex = o * n * inner + c0;
        Span<T> maxBuffer = stackalloc T[ReduceKernels.Columns], sumBuffer = stackalloc T[ReduceKernels.Columns], tmpBuffer = stackalloc T[ReduceKernels.Columns];
        var max = maxBuffer[..count];
        var sum = sumBuffer[..count];
        var tmp = tmpBuffer[..count];
        x.Slice(baseIndex, count).CopyTo(max);
        for (int j = 1; j < n; j++) TensorPrimitives.Max(max, x.Slice(baseIndex + j * inner, count), max);
        sum.Clear();
        for (int j = 0; j < n; j++)
        {
            var yj = y.Slice(baseIndex + j * inner, count);
            TensorPrimitives.Subtract(x.Slice(baseIndex + j * inner, count), max, yj);
            if (log)
            {
                TensorPrimitives.Exp(yj, tmp);
                TensorPrimitives.Add(sum, tmp, sum);
            }
            else
            {
                TensorPrimitives.Exp(yj, yj);
                TensorPrimitives.Add(sum, yj, sum);
            }
        }
        if (log) TensorPrimitives.Log(sum, sum);
        for (int j = 0; j < n; j++)
        {
            var yj = y.Slice(baseIndex + j * inner, count);
            if (log) TensorPrimitives.Subtract(yj, sum, yj);
            else TensorPrimitives.Divide(yj, sum, yj);
        }
    }
}

/// <summary>Layer normalization of contiguous rows: y = (x − mean)·rstd, rstd = 1/sqrt(var + eps), population variance.</summary>
internal static class LayerNormKernels
{
    public static void Row<T>(ReadOnlySpan<T> x, Span<T> y, out T mean, out T rstd, T eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T n = T.CreateTruncating(x.Length);
        mean = TensorPrimitives.Sum(x) / n;
        TensorPrimitives.Subtract(x, mean, y);
        T variance = TensorPrimitives.SumOfSquares<T>(y) / n;
        rstd = T.One / T.Sqrt(variance + eps);
        TensorPrimitives.Multiply(y, rstd, y);
    }
}
