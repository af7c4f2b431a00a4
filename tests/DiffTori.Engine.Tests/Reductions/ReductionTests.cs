using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class ReductionTests
{
    public static TheoryData<ReduceOp, DType> AllOps()
    {
        var data = new TheoryData<ReduceOp, DType>();
        foreach (var op in Enum.GetValues<ReduceOp>())
        {
            data.Add(op, DType.Float32);
            data.Add(op, DType.Float64);
        }
        return data;
    }

    private static Tensor Call(ReduceOp op, Tensor x, int[] axes, bool keepDims, int correction) => op switch
    {
        ReduceOp.Sum => Ops.Sum(x, axes, keepDims),
        ReduceOp.Mean => Ops.Mean(x, axes, keepDims),
        ReduceOp.Max => Ops.Max(x, axes, keepDims),
        ReduceOp.Min => Ops.Min(x, axes, keepDims),
        ReduceOp.LogSumExp => Ops.LogSumExp(x, axes, keepDims),
        ReduceOp.Var => Ops.Var(x, axes, correction, keepDims),
        ReduceOp.ArgMax => Ops.ArgMax(x, axes[0], keepDims),
        ReduceOp.ArgMin => Ops.ArgMin(x, axes[0], keepDims),
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    /// <summary>A shape, a set of axes (given in random order, some negative), keepDims, a seed, a layout and a correction.</summary>
    private static Gen<(Shape Shape, int[] Axes, bool KeepDims, int Seed, int Layout, int Correction)> Cases(bool singleAxis) =>
        from shape in Gens.Shape(1, 4, 3000)
        from mask in Gen.ArrayOf(Gen.Elements(false, true), shape.Rank)
        from single in Gen.Choose(0, shape.Rank - 1)
        from negative in Gen.Elements(false, true)
        from reverse in Gen.Elements(false, true)
        from keepDims in Gen.Elements(false, true)
        from seed in Gens.Seed
        from layout in Gen.Choose(0, 2)
        from correction in Gen.Choose(0, 1)
        select (shape, Axes(shape.Rank, singleAxis ? [single] : Enumerable.Range(0, shape.Rank).Where(i => mask[i]).ToArray(), negative, reverse),
            keepDims, seed, layout, correction);

    private static int[] Axes(int rank, int[] axes, bool negative, bool reverse)
    {
        var a = axes.Select(i => negative && i % 2 == 0 ? i - rank : i).ToArray();
        if (reverse) Array.Reverse(a);
        return a;
    }

    [Theory]
    [MemberData(nameof(AllOps))]
    public void EveryReductionOverRandomAxesMatchesNaive(ReduceOp op, DType dtype)
    {
        bool arg = op is ReduceOp.ArgMax or ReduceOp.ArgMin;
        ElemProps.Check(Cases(arg), c =>
        {
            var values = Gens.Data(c.Shape, c.Seed);
            if (arg || op is ReduceOp.Max or ReduceOp.Min) ElemProps.Quantize(values); // ties: the first index must win
            using var x = c.Layout == 0 ? Tensor.FromDoubles(values, c.Shape, dtype) : ElemRef.Strided(c.Shape, values, dtype, c.Layout == 2);
            using var y = Call(op, x, c.Axes, c.KeepDims, c.Correction);

            var reduced = new bool[c.Shape.Rank];
            foreach (int a in c.Axes) reduced[a < 0 ? a + c.Shape.Rank : a] = true;
            if (c.Axes.Length == 0) Array.Fill(reduced, true); // empty = every axis
            var dims = Enumerable.Range(0, c.Shape.Rank)
                .Where(i => c.KeepDims || !reduced[i]).Select(i => reduced[i] ? 1 : c.Shape[i]).ToArray();
            Assert.Equal(new Shape(dims), y.Shape);
            Assert.Equal(arg ? DType.Int32 : dtype, y.DType);

            var expected = ElemRef.Groups(x.ToDoubleArray(), c.Shape, reduced).Select(g => ElemRef.Reduce(op, g, c.Correction)).ToArray();
            var tolerance = dtype == DType.Float32 ? 1e-4 : 1e-10;
            if (arg) Assert.Equal(expected, y.ToDoubleArray());
            else Close.Assert(expected, y.ToDoubleArray(), tolerance, $"{op} {c.Shape} axes [{string.Join(",", c.Axes)}] keep {c.KeepDims}");
        }, 25);
    }

    [Fact]
    public void ArgMaxTiesGiveTheFirstIndexAlongEveryAxis()
    {
        // Rows and columns full of equal maxima.
        using var x = Tensor.FromDoubles([1, 3, 3, 0, 3, 3, 3, 3, 2, 1, 0, 3], new Shape(3, 4), DType.Float32);
        using var rows = Ops.ArgMax(x, 1);
        using var cols = Ops.ArgMax(x, 0);
        using var colsMin = Ops.ArgMin(x, -2, keepDims: true);
        Assert.Equal([1, 0, 3], rows.ToDoubleArray());
        Assert.Equal([1, 0, 0, 1], cols.ToDoubleArray());
        Assert.Equal(new Shape(1, 4), colsMin.Shape);
        Assert.Equal([0, 2, 2, 0], colsMin.ToDoubleArray());
    }

    [Fact]
    public void NaNIsTheExtremeForArgMaxMaxAndFriends()
    {
        double nan = double.NaN;
        using var x = Tensor.FromDoubles([1, nan, 3, nan, 2, 5, 4, 1], new Shape(2, 4), DType.Float64);
        using var am = Ops.ArgMax(x, 1);
        using var an = Ops.ArgMin(x, 1);
        using var mx = Ops.Max(x, [1]);
        using var colArg = Ops.ArgMax(x, 0);
        Assert.Equal([1, 1], am.ToDoubleArray().Take(1).Concat(an.ToDoubleArray().Take(1)).ToArray());
        Assert.Equal([1, 3], new[] { am.ToDoubleArray()[1], an.ToDoubleArray()[1] });
        Assert.True(double.IsNaN(mx.ToDoubleArray()[0]));
        Assert.Equal(5, mx.ToDoubleArray()[1]);
        Assert.Equal([1, 0, 1, 0], colArg.ToDoubleArray());
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void VarianceUsesTheCorrectionAndIsStableForLargeOffsets(DType dtype)
    {
        using var x = Tensor.FromDoubles([1e4 + 1, 1e4 + 2, 1e4 + 3, 1e4 + 4], new Shape(4), dtype);
        using var unbiased = Ops.Var(x);
        using var population = Ops.Var(x, correction: 0);
        Close.Assert([5.0 / 3], unbiased.ToDoubleArray(), 1e-6);
        Close.Assert([1.25], population.ToDoubleArray(), 1e-6);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void LogSumExpIsFiniteForLargeValuesAndExactForInfinities(DType dtype)
    {
        using var x = Tensor.FromDoubles([1000, 1000, 999, -1000, -1000, -1001], new Shape(2, 3), dtype);
        using var rows = Ops.LogSumExp(x, [1]);
        Close.Assert([1000 + Math.Log(2 + Math.Exp(-1)), -1000 + Math.Log(2 + Math.Exp(-1))], rows.ToDoubleArray(), Close.For(dtype));
        using var cols = Ops.LogSumExp(x, [0]); // the inner > 1 kernel
        Close.Assert([1000, 1000, 999], cols.ToDoubleArray(), Close.For(dtype));
        using var inf = Tensor.FromDoubles([double.NegativeInfinity, double.NegativeInfinity, double.PositiveInfinity, 1], new Shape(2, 2), dtype);
        using var r = Ops.LogSumExp(inf, [-1]);
        using var c = Ops.LogSumExp(inf, [0]);
        Assert.Equal([double.NegativeInfinity, double.PositiveInfinity], r.ToDoubleArray());
        Assert.Equal([double.PositiveInfinity, 1], c.ToDoubleArray());
    }

    [Fact]
    public void LargeReductionsRunInParallelAndMatch()
    {
        var shape = new Shape(3, 300, 120);
        using var x = Gens.Tensor(shape, 9);
        var values = x.ToDoubleArray();
        foreach (var axes in new[] { new[] { 1 }, new[] { 2 }, new[] { 0, 2 } })
        {
            using var s = Ops.Sum(x, axes);
            var reduced = new bool[3];
            foreach (var a in axes) reduced[a] = true;
            var expected = ElemRef.Groups(values, shape, reduced).Select(g => g.Sum()).ToArray();
            Close.Assert(expected, s.ToDoubleArray(), 1e-10, $"sum over {string.Join(",", axes)}");
        }
    }

    [Fact]
    public void EmptyAxesReduceEverythingAndScalarsPassThrough()
    {
        using var x = Tensor.FromDoubles([1, 2, 3, 4, 5, 6], new Shape(2, 3), DType.Float64);
        using var all = Ops.Sum(x);
        using var allKeep = Ops.Mean(x, keepDims: true);
        Assert.Equal(Shape.Scalar, all.Shape);
        Assert.Equal(21, all.Item());
        Assert.Equal(new Shape(1, 1), allKeep.Shape);
        Assert.Equal(3.5, allKeep.Item());
        using var s = Tensor.Scalar(4.5, DType.Float64);
        using var ss = Ops.Max(s);
        Assert.Equal(4.5, ss.Item());
    }

    [Fact]
    public void ReductionErrorsNameTheOp()
    {
        using var x = Tensor.Zeros(new Shape(2, 3));
        Assert.Contains("sum", Assert.Throws<ArgumentException>(() => Ops.Sum(x, [1, -1])).Message);
        Assert.Contains("[2, 3]", Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Mean(x, [2])).Message);
        using var empty = Tensor.Zeros(new Shape(2, 0));
        Assert.Contains("max", Assert.Throws<ArgumentException>(() => Ops.Max(empty, [1])).Message);
        using var zeroSum = Ops.Sum(empty, [1]);
        Assert.Equal([0.0, 0.0], zeroSum.ToDoubleArray());
        using var i = Tensor.Zeros(new Shape(3), DType.Int32);
        Assert.Contains("softmax", Assert.Throws<ArgumentException>(() => Ops.Softmax(i)).Message);
    }

    [Fact]
    public void SumToReversesBroadcasting()
    {
        var gen = from pair in Gens.BroadcastablePair(4, 2000)
                  from seed in Gens.Seed
                  from dtype in Gen.Elements(DType.Float32, DType.Float64)
                  select (pair.A, pair.B, seed, dtype);
        ElemProps.Check(gen, c =>
        {
            var full = Broadcast.Shapes("test", c.A, c.B);
            using var x = Gens.Tensor(full, c.seed, c.dtype);
            using var y = Ops.SumTo(x, c.B);
            Assert.Equal(c.B, y.Shape);
            var xs = x.ToDoubleArray();
            var expected = new double[c.B.Length];
            for (int i = 0; i < xs.Length; i++) expected[ElemRef.BroadcastIndex(ElemRef.Unravel(i, full), c.B)] += xs[i];
            Close.Assert(expected, y.ToDoubleArray(), c.dtype == DType.Float32 ? 1e-4 : 1e-10);
        }, 40);
        using var bad = Tensor.Zeros(new Shape(2, 3));
        var e = Assert.Throws<TensorShapeException>(() => Ops.SumTo(bad, new Shape(2, 2)));
        Assert.Contains("sum_to", e.Message);
        Assert.Contains("[2, 3]", e.Message);
    }
}
