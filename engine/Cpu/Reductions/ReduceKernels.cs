using System.Numerics;
using System.Numerics.Tensors;

namespace DiffTori.Engine;

/// <summary>
/// Reductions over the middle axis of a dense [outer, n, inner] array, for one outer index at a time.
/// When inner = 1 each output is a contiguous row of n values (TensorPrimitives reductions). When
/// inner &gt; 1 the n rows of a block of up to <see cref="Columns"/> outputs are combined row by row with
/// vector ops, so every pass is unit-stride. Scratch lives on the stack: no heap allocation.
/// </summary>
internal static class ReduceKernels
{
    /// <summary>Outputs handled together when inner &gt; 1 (their scratch fits in L1).</summary>
    public const int Columns = 256;

    /// <summary>y[o] for one contiguous row (inner = 1). Arg ops write their index into yi.</summary>
    public static void Row<T>(ReduceOp op, ReadOnlySpan<T> row, Span<T> y, Span<int> yi, int o, double correction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = row.Length;
        switch (op)
        {
            case ReduceOp.Sum: y[o] = TensorPrimitives.Sum(row); break;
            case ReduceOp.Mean: y[o] = TensorPrimitives.Sum(row) / T.CreateTruncating(n); break;
            case ReduceOp.Max: y[o] = TensorPrimitives.Max(row); break;
            case ReduceOp.Min: y[o] = TensorPrimitives.Min(row); break;
            case ReduceOp.ArgMax: yi[o] = FirstIndexOf(row, TensorPrimitives.Max(row)); break;
            case ReduceOp.ArgMin: yi[o] = FirstIndexOf(row, TensorPrimitives.Min(row)); break;
            case ReduceOp.LogSumExp: y[o] = RowLogSumExp(row); break;
            case ReduceOp.Var: y[o] = RowVariance(row, correction); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction");
        }
    }

    /// <summary>
    /// First index holding the extreme value (found by a SIMD Max/Min pass); NaN, which Max/Min propagate,
    /// matches the first NaN. TensorPrimitives.IndexOfMax does not promise the first of equal maxima.
    /// </summary>
    private static int FirstIndexOf<T>(ReadOnlySpan<T> row, T extreme) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool nan = T.IsNaN(extreme);
        for (int i = 0; i < row.Length; i++)
            if (nan ? T.IsNaN(row[i]) : row[i] == extreme) return i;
        return 0;
    }

    /// <summary>m + log Σ exp(x − m) with m the row maximum (0 when it is ±∞, which then gives ±∞ exactly).</summary>
    private static T RowLogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row.Length == 0) return T.NegativeInfinity;
        T m = TensorPrimitives.Max(row);
        if (T.IsInfinity(m)) m = T.Zero;
        Span<T> chunk = stackalloc T[Columns];
        T sum = T.Zero;
        for (int start = 0; start < row.Length; start += Columns)
        {
            int len = Math.Min(Columns, row.Length - start);
            var c = chunk[..len];
            TensorPrimitives.Subtract(row.Slice(start, len), m, c);
            TensorPrimitives.Exp(c, c);
            sum += TensorPrimitives.Sum<T>(c);
        }
        return m + T.Log(sum);
    }

    /// <summary>Two-pass variance: Σ(x − mean)² / (n − correction).</summary>
    private static T RowVariance<T>(ReadOnlySpan<T> row, double correction) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = row.Length;
        T mean = TensorPrimitives.Sum(row) / T.CreateTruncating(n);
        Span<T> chunk = stackalloc T[Columns];
        T squares = T.Zero;
        for (int start = 0; start < n; start += Columns)
        {
            int len = Math.Min(Columns, n - start);
            var c = chunk[..len];
            TensorPrimitives.Subtract(row.Slice(start, len), mean, c);
            squares += TensorPrimitives.SumOfSquares<T>(c);
        }
        return squares / T.CreateTruncating(Math.Max(n - correction, 0));
    }

    /// <summary>
    /// Outputs [c0, c0 + count) of outer index o (count ≤ Columns) when inner &gt; 1. x is the whole array;
    /// row j of this block starts at (o·n + j)·inner + c0.
    /// </summary>
    public static void Block<T>(ReduceOp op, ReadOnlySpan<T> x, int n, int inner, int o, int c0, int count,
        Span<T> y, Span<int> yi, double correction)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int baseIndex = o * n * inner + c0;
        ReadOnlySpan<T> RowOf(ReadOnlySpan<T> all, int j) => all.Slice(baseIndex + j * inner, count);
        Span<T> scratch = stackalloc T[Columns], tmp = stackalloc T[Columns];
        var acc = scratch[..count];
        var t = tmp[..count];
        int yo = o * inner + c0;
        switch (op)
        {
            case ReduceOp.Sum or ReduceOp.Mean:
            {
                acc.Clear();
                for (int j = 0; j < n; j++) TensorPrimitives.Add(acc, RowOf(x, j), acc);
                if (op == ReduceOp.Mean) TensorPrimitives.Divide(acc, T.CreateTruncating(n), acc);
                acc.CopyTo(y.Slice(yo, count));
                break;
            }
            case ReduceOp.Max or ReduceOp.Min:
            {
                RowOf(x, 0).CopyTo(acc);
                for (int j = 1; j < n; j++)
                {
                    if (op == ReduceOp.Max) TensorPrimitives.Max(acc, RowOf(x, j), acc);
                    else TensorPrimitives.Min(acc, RowOf(x, j), acc);
                }
                acc.CopyTo(y.Slice(yo, count));
                break;
            }
            case ReduceOp.ArgMax or ReduceOp.ArgMin:
            {
                // First index wins ties; NaN counts as the extreme (as in PyTorch).
                RowOf(x, 0).CopyTo(acc);
                var index = yi.Slice(yo, count);
                index.Clear();
                bool max = op == ReduceOp.ArgMax;
                for (int j = 1; j < n; j++)
                {
                    var r = RowOf(x, j);
                    for (int i = 0; i < count; i++)
                    {
                        T v = r[i], best = acc[i];
                        bool better = max ? v > best : v < best;
                        if (better || (T.IsNaN(v) && !T.IsNaN(best)))
                        {
                            acc[i] = v;
                            index[i] = j;
                        }
                    }
                }
                break;
            }
            case ReduceOp.LogSumExp:
            {
                // acc = column max (0 where infinite), then Σ exp(x − max) accumulates in y.
                var sum = y.Slice(yo, count);
                if (n == 0) { sum.Fill(T.NegativeInfinity); break; }
                RowOf(x, 0).CopyTo(acc);
                for (int j = 1; j < n; j++) TensorPrimitives.Max(acc, RowOf(x, j), acc);
                for (int i = 0; i < count; i++) if (T.IsInfinity(acc[i])) acc[i] = T.Zero;
                sum.Clear();
                for (int j = 0; j < n; j++)
                {
                    TensorPrimitives.Subtract(RowOf(x, j), acc, t);
                    TensorPrimitives.Exp(t, t);
                    TensorPrimitives.Add(sum, t, sum);
                }
                TensorPrimitives.Log(sum, sum);
                TensorPrimitives.Add(sum, acc, sum);
                break;
            }
            case ReduceOp.Var:
            {
                // acc = column mean, then Σ (x − mean)² accumulates in y.
                var squares = y.Slice(yo, count);
                acc.Clear();
                for (int j = 0; j < n; j++) TensorPrimitives.Add(acc, RowOf(x, j), acc);
                TensorPrimitives.Divide(acc, T.CreateTruncating(n), acc);
                squares.Clear();
                for (int j = 0; j < n; j++)
                {
                    TensorPrimitives.Subtract(RowOf(x, j), acc, t);
                    TensorPrimitives.Multiply(t, t, t);
                    TensorPrimitives.Add(squares, t, squares);
                }
                TensorPrimitives.Divide(squares, T.CreateTruncating(Math.Max(n - correction, 0)), squares);
                break;
            }
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction");
        }
    }
}
