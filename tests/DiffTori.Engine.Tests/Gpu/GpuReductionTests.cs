using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Gpu;

public class GpuReductionTests
{
    private const int Outer = 3, N = 7, Inner = 4;

    private static double[] Reference(ReduceOp op, double[] x, double p0)
    {
        var y = new double[Outer * Inner];
        for (int o = 0; o < Outer; o++)
            for (int i = 0; i < Inner; i++)
            {
                var row = new double[N];
                for (int j = 0; j < N; j++) row[j] = x[(o * N + j) * Inner + i];
                double mean = row.Average();
                y[o * Inner + i] = op switch
                {
                    ReduceOp.Sum => row.Sum(),
                    ReduceOp.Mean => mean,
                    ReduceOp.Max => row.Max(),
                    ReduceOp.Min => row.Min(),
                    ReduceOp.ArgMax => Array.IndexOf(row, row.Max()),
                    ReduceOp.ArgMin => Array.IndexOf(row, row.Min()),
                    ReduceOp.LogSumExp => Math.Log(row.Sum(v => Math.Exp(v))),
                    _ => row.Sum(v => (v - mean) * (v - mean)) / (N - p0),
                };
            }
        return y;
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void EveryReduceOpMatchesAReferenceLoop(DType dtype)
    {
        var shape = new Shape(Outer, N, Inner);
        var values = Gens.Data(shape, 3, -3, 3);
        values[5] = values[9];                        // a tie: the first index must win
        if (dtype == DType.Float32) values = Array.ConvertAll(values, v => (double)(float)v);
        using var x = Sim.FromDoubles(values, shape, dtype);
        foreach (var op in Enum.GetValues<ReduceOp>())
        {
            foreach (double p0 in op == ReduceOp.Var ? new[] { 0.0, 1.0 } : new[] { 0.0 })
            {
                bool arg = op is ReduceOp.ArgMax or ReduceOp.ArgMin;
                using var y = Tensor.Empty(new Shape(Outer, Inner), arg ? DType.Int32 : dtype, Sim.Device);
                y.Device.Backend.Reduce(op, x, Outer, N, Inner, y, p0);
                Close.Assert(Reference(op, values, p0), y.ToDoubleArray(), dtype == DType.Float32 ? 1e-5 : 1e-12, $"{op} p0={p0}");
            }
        }
    }

    [Fact]
    public void MaxPropagatesNaNAndLogSumExpHandlesInfinities()
    {
        using var x = Sim.FromDoubles([1, double.NaN, 3, double.NegativeInfinity, double.NegativeInfinity, double.NegativeInfinity], new Shape(2, 3));
        using var y = Tensor.Empty(new Shape(2), DType.Float64, Sim.Device);
        y.Device.Backend.Reduce(ReduceOp.Max, x, 2, 3, 1, y, 0);
        var max = y.ToDoubleArray();
        Assert.True(double.IsNaN(max[0]));
        Assert.Equal(double.NegativeInfinity, max[1]);
        y.Device.Backend.Reduce(ReduceOp.LogSumExp, x, 2, 3, 1, y, 0);
        Assert.Equal(double.NegativeInfinity, y.ToDoubleArray()[1]);
    }

    [Theory]
    [InlineData(DType.Float32, false)]
    [InlineData(DType.Float64, false)]
    [InlineData(DType.Float64, true)]
    public void SoftmaxAlongTheMiddleAxis(DType dtype, bool log)
    {
        var shape = new Shape(Outer, N, Inner);
        var values = Gens.Data(shape, 4, -30, 30);    // large values: must subtract the max
        if (dtype == DType.Float32) values = Array.ConvertAll(values, v => (double)(float)v);
        using var x = Sim.FromDoubles(values, shape, dtype);
        using var y = Tensor.Empty(shape, dtype, Sim.Device);
        y.Device.Backend.Softmax(x, Outer, N, Inner, y, log);
        var expected = new double[values.Length];
        for (int o = 0; o < Outer; o++)
            for (int i = 0; i < Inner; i++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < N; j++) max = Math.Max(max, values[(o * N + j) * Inner + i]);
                for (int j = 0; j < N; j++) sum += Math.Exp(values[(o * N + j) * Inner + i] - max);
                for (int j = 0; j < N; j++)
                {
                    int at = (o * N + j) * Inner + i;
                    expected[at] = log ? values[at] - max - Math.Log(sum) : Math.Exp(values[at] - max) / sum;
                }
            }
        Close.Assert(expected, y.ToDoubleArray(), dtype == DType.Float32 ? 1e-5 : 1e-12, "softmax");
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void LayerNormWritesNormalizedRowsAndStatistics(DType dtype)
    {
        const int rows = 5, n = 9;
        var values = Gens.Data(new Shape(rows, n), 6, -1, 4);
        if (dtype == DType.Float32) values = Array.ConvertAll(values, v => (double)(float)v);
        using var x = Sim.FromDoubles(values, new Shape(rows, n), dtype);
        using var y = Tensor.Empty(x.Shape, dtype, Sim.Device);
        using var mean = Tensor.Empty(new Shape(rows), dtype, Sim.Device);
        using var rstd = Tensor.Empty(new Shape(rows), dtype, Sim.Device);
        y.Device.Backend.LayerNorm(x, rows, n, 1e-5, y, mean, rstd);
        var ey = new double[values.Length];
        var em = new double[rows];
        var er = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = values.Skip(r * n).Take(n).ToArray();
            em[r] = row.Average();
            er[r] = 1 / Math.Sqrt(row.Sum(v => (v - em[r]) * (v - em[r])) / n + 1e-5);
            for (int j = 0; j < n; j++) ey[r * n + j] = (row[j] - em[r]) * er[r];
        }
        double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
        Close.Assert(ey, y.ToDoubleArray(), tol, "y");
        Close.Assert(em, mean.ToDoubleArray(), tol, "mean");
        Close.Assert(er, rstd.ToDoubleArray(), tol, "rstd");
    }

    [Fact]
    public void ReductionsAgreeWithTheCpuBackendWhereItExists()
    {
        using var xc = Gens.Tensor(new Shape(4, 11, 3), 8, DType.Float32);
        using var yc = Tensor.Empty(new Shape(4, 3), DType.Float32);
        Device.Cpu.Backend.Reduce(ReduceOp.Sum, xc, 4, 11, 3, yc, 0);
        using var xg = xc.To(Sim.Device);
        using var yg = Tensor.Empty(new Shape(4, 3), DType.Float32, Sim.Device);
        foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Mean, ReduceOp.Max, ReduceOp.LogSumExp, ReduceOp.Var })
        {
            Device.Cpu.Backend.Reduce(op, xc, 4, 11, 3, yc, 1);
            yg.Device.Backend.Reduce(op, xg, 4, 11, 3, yg, 1);
            Close.Assert(yc.ToDoubleArray(), yg.ToDoubleArray(), 1e-5, op.ToString());
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void LongRowsUseGroupReductionsWithTheSameResults(DType dtype)
    {
        const int rows = 3, n = GpuBackend.LongRow + 77;
        var values = Gens.Data(new Shape(rows, n), 12, -5, 5);
        if (dtype == DType.Float32) values = Array.ConvertAll(values, v => (double)(float)v);
        using var x = Sim.FromDoubles(values, new Shape(rows, n), dtype);
        double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
        var backend = Sim.Device.Backend;
        var row = new double[rows][];
        for (int r = 0; r < rows; r++) row[r] = values.Skip(r * n).Take(n).ToArray();
        foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Mean, ReduceOp.Max, ReduceOp.Min, ReduceOp.LogSumExp, ReduceOp.Var })
        {
            using var y = Tensor.Empty(new Shape(rows), dtype, Sim.Device);
            backend.Reduce(op, x, rows, n, 1, y, 1);
            var expected = row.Select(v =>
            {
                double mean = v.Average(), max = v.Max();
                return op switch
                {
                    ReduceOp.Sum => v.Sum(), ReduceOp.Mean => mean, ReduceOp.Max => max, ReduceOp.Min => v.Min(),
                    ReduceOp.LogSumExp => max + Math.Log(v.Sum(e => Math.Exp(e - max))),
                    _ => v.Sum(e => (e - mean) * (e - mean)) / (n - 1),
                };
            }).ToArray();
            Close.Assert(expected, y.ToDoubleArray(), tol, $"long-row {op}");
        }

        using var soft = Tensor.Empty(x.Shape, dtype, Sim.Device);
        backend.Softmax(x, rows, n, 1, soft, log: true);
        var expectedSoft = new double[values.Length];
        using var yn = Tensor.Empty(x.Shape, dtype, Sim.Device);
        using var mean = Tensor.Empty(new Shape(rows), dtype, Sim.Device);
        using var rstd = Tensor.Empty(new Shape(rows), dtype, Sim.Device);
        backend.LayerNorm(x, rows, n, 1e-5, yn, mean, rstd);
        var expectedNorm = new double[values.Length];
        for (int r = 0; r < rows; r++)
        {
            double max = row[r].Max(), lse = max + Math.Log(row[r].Sum(e => Math.Exp(e - max)));
            double mu = row[r].Average(), inv = 1 / Math.Sqrt(row[r].Sum(e => (e - mu) * (e - mu)) / n + 1e-5);
            for (int j = 0; j < n; j++)
            {
                expectedSoft[r * n + j] = row[r][j] - lse;
                expectedNorm[r * n + j] = (row[r][j] - mu) * inv;
            }
        }
        Close.Assert(expectedSoft, soft.ToDoubleArray(), tol, "long-row log-softmax");
        Close.Assert(expectedNorm, yn.ToDoubleArray(), tol, "long-row layer norm");
    }
}
