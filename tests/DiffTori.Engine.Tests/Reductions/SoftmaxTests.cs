using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class SoftmaxTests
{
    [Fact]
    public void SoftmaxAndLogSoftmaxMatchNaiveOverAnyAxis()
    {
        var gen = from shape in Gens.Shape(1, 4, 3000)
                  from axisChoice in Gen.Choose(0, 3)
                  from negative in Gen.Elements(false, true)
                  from seed in Gens.Seed
                  from dtype in Gen.Elements(DType.Float32, DType.Float64)
                  from strided in Gen.Elements(false, true)
                  from log in Gen.Elements(false, true)
                  select (shape, axis: axisChoice % shape.Rank - (negative ? shape.Rank : 0), seed, dtype, strided, log);
        ElemProps.Check(gen, c =>
        {
            var values = Gens.Data(c.shape, c.seed, -20, 20);
            using var x = c.strided ? ElemRef.Strided(c.shape, values, c.dtype, false) : Tensor.FromDoubles(values, c.shape, c.dtype);
            using var y = c.log ? Ops.LogSoftmax(x, c.axis) : Ops.Softmax(x, c.axis);
            Assert.Equal(c.shape, y.Shape);
            int axis = c.axis < 0 ? c.axis + c.shape.Rank : c.axis;
            var reduced = new bool[c.shape.Rank];
            reduced[axis] = true;
            var xs = x.ToDoubleArray();
            var lse = ElemRef.Groups(xs, c.shape, reduced).Select(g => ElemRef.Reduce(ReduceOp.LogSumExp, g, 0)).ToArray();
            var expected = new double[xs.Length];
            var sums = new double[lse.Length];
            var got = y.ToDoubleArray();
            for (int i = 0; i < xs.Length; i++)
            {
                var index = ElemRef.Unravel(i, c.shape);
                int g = 0;
                for (int k = 0; k < c.shape.Rank; k++) if (k != axis) g = g * c.shape[k] + index[k];
                expected[i] = c.log ? xs[i] - lse[g] : Math.Exp(xs[i] - lse[g]);
                sums[g] += c.log ? Math.Exp(got[i]) : got[i];
            }
            Close.Assert(expected, got, c.dtype == DType.Float32 ? 1e-5 : 1e-12, $"{(c.log ? "log_softmax" : "softmax")} {c.shape} axis {c.axis}");
            Close.Assert(Enumerable.Repeat(1.0, sums.Length).ToArray(), sums, c.dtype == DType.Float32 ? 1e-4 : 1e-10, "rows sum to 1");
        }, 60);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void SoftmaxIsStableForLargeInputs(DType dtype)
    {
        using var x = Tensor.FromDoubles([1000, 1001, 1002, -1000, -1001, -1002], new Shape(2, 3), dtype);
        using var rows = Ops.Softmax(x);
        using var logRows = Ops.LogSoftmax(x, 1);
        double z = 1 + Math.Exp(-1) + Math.Exp(-2);
        Close.Assert([Math.Exp(-2) / z, Math.Exp(-1) / z, 1 / z, 1 / z, Math.Exp(-1) / z, Math.Exp(-2) / z], rows.ToDoubleArray(), Close.For(dtype));
        Close.Assert([-2 - Math.Log(z), -1 - Math.Log(z), -Math.Log(z), -Math.Log(z), -1 - Math.Log(z), -2 - Math.Log(z)], logRows.ToDoubleArray(), Close.For(dtype));
        using var cols = Ops.Softmax(x, 0); // inner > 1 path
        Close.Assert([1, 1, 1, 0, 0, 0], cols.ToDoubleArray(), Close.For(dtype));
    }

    [Fact]
    public void LargeSoftmaxRunsInParallelAndMatches()
    {
        var shape = new Shape(50, 40, 40);
        using var x = Gens.Tensor(shape, 3);
        using var a = Ops.Softmax(x, 1);
        using var b = Ops.Softmax(x, -1);
        using var t = x.Transpose(1, 2);
        using var tc = t.Contiguous();
        using var c = Ops.Softmax(tc, -1); // softmax of x along axis 1, transposed
        using var ct = c.Transpose(1, 2);
        Close.Assert(ct.ToDoubleArray(), a.ToDoubleArray(), 1e-14);
        Assert.NotEqual(a.ToDoubleArray(), b.ToDoubleArray());
    }
}
