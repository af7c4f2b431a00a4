using DiffTori.Engine;

namespace DiffTori.Engine.Tests;

/// <summary>Slow, obviously-correct reference implementations (double loops and Math.*) for the op tests.</summary>
public static class ElemRef
{
    public static double Unary(UnaryOp op, double x, double p0, double p1) => op switch
    {
        UnaryOp.Neg => -x,
        UnaryOp.Exp => Math.Exp(x),
        UnaryOp.Log => Math.Log(x),
        UnaryOp.Sqrt => Math.Sqrt(x),
        UnaryOp.Rsqrt => 1 / Math.Sqrt(x),
        UnaryOp.Tanh => Math.Tanh(x),
        UnaryOp.Sigmoid => Sigmoid(x),
        UnaryOp.Relu => Math.Max(x, 0),
        UnaryOp.Elu => x > 0 ? x : p0 * (Math.Exp(x) - 1),
        UnaryOp.Silu => x * Sigmoid(x),
        UnaryOp.Mish => x * Math.Tanh(Softplus(x, 1, 20)),
        UnaryOp.Softplus => Softplus(x, p0, p1),
        UnaryOp.Abs => Math.Abs(x),
        UnaryOp.Sign => Math.Sign(x),
        UnaryOp.Sin => Math.Sin(x),
        UnaryOp.Cos => Math.Cos(x),
        UnaryOp.Square => x * x,
        UnaryOp.Reciprocal => 1 / x,
        UnaryOp.Clamp => Math.Min(Math.Max(x, p0), p1),
        UnaryOp.PowScalar => Math.Pow(x, p0),
        UnaryOp.Affine => p0 * x + p1,
        UnaryOp.DivScalarBy => p0 / x,
        UnaryOp.GreaterScalar => x > p0 ? 1 : 0,
        UnaryOp.GreaterEqualScalar => x >= p0 ? 1 : 0,
        UnaryOp.LessScalar => x < p0 ? 1 : 0,
        UnaryOp.LessEqualScalar => x <= p0 ? 1 : 0,
        UnaryOp.EqualScalar => x == p0 ? 1 : 0,
        UnaryOp.MaxScalar => Math.Max(x, p0),
        UnaryOp.MinScalar => Math.Min(x, p0),
        UnaryOp.IsNonFinite => double.IsFinite(x) ? 0 : 1,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public static double Binary(BinaryOp op, double a, double b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Max => Math.Max(a, b),
        BinaryOp.Min => Math.Min(a, b),
        BinaryOp.Pow => Math.Pow(a, b),
        BinaryOp.Equal => a == b ? 1 : 0,
        BinaryOp.NotEqual => a != b ? 1 : 0,
        BinaryOp.Greater => a > b ? 1 : 0,
        BinaryOp.GreaterEqual => a >= b ? 1 : 0,
        BinaryOp.Less => a < b ? 1 : 0,
        BinaryOp.LessEqual => a <= b ? 1 : 0,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    /// <summary>torch.nn.functional.softplus: x where βx &gt; threshold, else log(1 + e^(βx))/β.</summary>
    public static double Softplus(double x, double beta, double threshold)
    {
        double z = beta * x;
        if (z > threshold) return x;
        return (Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)))) / beta;
    }

    /// <summary>Row-major multi-index of a flat index.</summary>
    public static int[] Unravel(int flat, Shape shape)
    {
        var index = new int[shape.Rank];
        for (int i = shape.Rank - 1; i >= 0; i--)
        {
            index[i] = flat % shape[i];
            flat /= shape[i];
        }
        return index;
    }

    /// <summary>Flat row-major index into 'shape' of the element a broadcast read at 'index' (of a larger rank) sees.</summary>
    public static int BroadcastIndex(int[] index, Shape shape)
    {
        int lead = index.Length - shape.Rank, flat = 0;
        for (int i = 0; i < shape.Rank; i++)
            flat = flat * shape[i] + (shape[i] == 1 ? 0 : index[lead + i]);
        return flat;
    }

    /// <summary>Elementwise binary with NumPy broadcasting over row-major value arrays.</summary>
    public static double[] Binary(BinaryOp op, double[] a, Shape sa, double[] b, Shape sb, Shape result)
    {
        var y = new double[result.Length];
        for (int i = 0; i < y.Length; i++)
        {
            var index = Unravel(i, result);
            y[i] = Binary(op, a[BroadcastIndex(index, sa)], b[BroadcastIndex(index, sb)]);
        }
        return y;
    }

    /// <summary>
    /// The groups of a reduction: for each output element (kept axes, row-major), the input values in
    /// row-major order of the reduced axes.
    /// </summary>
    public static List<double>[] Groups(double[] x, Shape shape, bool[] reduced)
    {
        int outLength = 1;
        for (int i = 0; i < shape.Rank; i++) if (!reduced[i]) outLength *= shape[i];
        var groups = new List<double>[outLength];
        for (int g = 0; g < outLength; g++) groups[g] = [];
        for (int f = 0; f < x.Length; f++)
        {
            var index = Unravel(f, shape);
            int o = 0;
            for (int i = 0; i < shape.Rank; i++) if (!reduced[i]) o = o * shape[i] + index[i];
            groups[o].Add(x[f]);
        }
        return groups;
    }

    public static double Reduce(ReduceOp op, List<double> g, int correction)
    {
        double mean = g.Count == 0 ? double.NaN : g.Average();
        return op switch
    {
        ReduceOp.Sum => g.Sum(),
        ReduceOp.Mean => g.Sum() / g.Count,
        ReduceOp.Max => g.Max(),
        ReduceOp.Min => g.Min(),
        ReduceOp.ArgMax => g.IndexOf(g.Max()),
        ReduceOp.ArgMin => g.IndexOf(g.Min()),
        ReduceOp.LogSumExp => g.Max() + Math.Log(g.Sum(v => Math.Exp(v - g.Max()))),
        ReduceOp.Var => g.Sum(v => (v - mean) * (v - mean)) / (g.Count - correction),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
    }

    /// <summary>A non-contiguous view with the given shape and values: a permuted copy permuted back, or a step-2 slice.</summary>
    public static Tensor Strided(Shape shape, double[] values, DType dtype, bool useSlice)
    {
        if (useSlice || shape.Rank < 2)
        {
            // Interleave with junk along the last axis and take every other element.
            var dims = shape.Rank == 0 ? [] : shape.ToArray();
            if (dims.Length == 0) return Tensor.FromDoubles(values, shape, dtype);
            dims[^1] *= 2;
            var wide = new double[values.Length * 2];
            for (int i = 0; i < values.Length; i++) { wide[2 * i] = values[i]; wide[2 * i + 1] = double.NaN; }
            using var big = Tensor.FromDoubles(wide, new Shape(dims), dtype);
            return big.Slice(-1, 0, dims[^1], 2);
        }
        // Store transposed (last two axes swapped), then transpose back as a view.
        int r = shape.Rank, rows = shape[r - 2], cols = shape[r - 1];
        var swapped = shape.ToArray();
        (swapped[r - 2], swapped[r - 1]) = (cols, rows);
        var stored = new double[values.Length];
        int plane = rows * cols;
        for (int p = 0; p < values.Length / Math.Max(plane, 1); p++)
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    stored[p * plane + j * rows + i] = values[p * plane + i * cols + j];
        using var t = Tensor.FromDoubles(stored, new Shape(swapped), dtype);
        return t.Transpose(-2, -1);
    }
}
