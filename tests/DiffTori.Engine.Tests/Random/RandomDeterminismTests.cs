using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

/// <summary>Counter-based draws: every element is a pure function of (seed, counter + i).</summary>
public class RandomDeterminismTests
{
    private delegate Tensor Draw(int n, RandomGenerator rng, DType dtype);

    private static readonly Draw[] Draws =
    [
        (n, rng, d) => Ops.Uniform(new Shape(n), rng, -1, 4, d),
        (n, rng, d) => Ops.Normal(new Shape(n), rng, 2, 0.5, d),
        (n, rng, d) => Ops.TruncatedNormal(new Shape(n), rng, 0, 1, -0.5, 1.5, d),
        (n, rng, _) => Ops.Integers(new Shape(n), rng, -7, 100),
    ];

    [Fact]
    public void SplittingADrawInTwoGivesTheSameNumbers() => PropCheck.Run(
        from kind in Gen.Choose(0, Draws.Length - 1)
        from total in Gen.Choose(1, 3000)
        from cut in Gen.Choose(0, 3000)
        from seed in Gen.Choose(0, 1_000_000)
        from start in Gen.Choose(0, 1_000_000)
        from dtype in Gen.Elements(DType.Float64, DType.Float32)
        select (kind, total, cut: cut % (total + 1), seed, start, dtype),
        c =>
        {
            var draw = Draws[c.kind];
            var one = new RandomGenerator((ulong)c.seed) { Counter = (ulong)c.start };
            using var whole = draw(c.total, one, c.dtype);
            var two = new RandomGenerator((ulong)c.seed) { Counter = (ulong)c.start };
            using var first = draw(c.cut, two, c.dtype);
            using var second = draw(c.total - c.cut, two, c.dtype);
            Assert.Equal(one.Counter, two.Counter);
            Assert.Equal(whole.ToDoubleArray(), first.ToDoubleArray().Concat(second.ToDoubleArray()));
            using var repeat = draw(c.total, new RandomGenerator((ulong)c.seed) { Counter = (ulong)c.start }, c.dtype);
            Assert.Equal(whole.ToDoubleArray(), repeat.ToDoubleArray());
        });

    [Theory]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float32)]
    public void EveryElementIsTheSharedPhiloxFunctionOfItsCounter(DType dtype)
    {
        // Large enough for the parallel path: chunking must not change any element.
        const int n = 70_000;
        const ulong seed = 99, start = 1234;
        var rng = new RandomGenerator(seed) { Counter = start };
        using var u = Ops.Uniform(new Shape(n), rng, -1, 4, dtype);
        using var g = Ops.Normal(new Shape(n), rng, 2, 0.5, dtype);
        using var t = Ops.TruncatedNormal(new Shape(n), rng, 0, 1, -0.5, 1.5, dtype);
        using var k = Ops.Integers(new Shape(n), rng, -7, 100);
        var us = u.ToDoubleArray();
        var gs = g.ToDoubleArray();
        var ts = t.ToDoubleArray();
        var ks = k.ToArray<int>();
        double Cast(double v) => dtype == DType.Float32 ? (float)v : v;
        for (int i = 0; i < n; i++)
        {
            ulong ci = (ulong)i;
            Assert.Equal(Cast(PhiloxDraws.Uniform(seed, start + ci, -1, 4)), us[i]);
            Assert.Equal(Cast(PhiloxDraws.Normal(seed, start + n + ci, 2, 0.5)), gs[i]);
            Assert.Equal(Cast(PhiloxDraws.TruncatedNormal(seed, start + 2 * n + ci, 0, 1, -0.5, 1.5)), ts[i]);
            Assert.Equal(Philox.Integer(seed, start + 3 * n + ci, -7, 100), ks[i]);
        }
        Assert.Equal(start + 4 * n, rng.Counter);
    }

    [Fact]
    public void FillWritesOnlyTheTargetView()
    {
        using var big = Tensor.Full(new Shape(6, 4), -9, DType.Float64);
        using var rows = big.Narrow(0, 2, 3);                 // a contiguous view into the middle
        var rng = new RandomGenerator(5);
        Ops.FillUniform(rows, rng, 0, 1);
        Ops.FillNormal(rows, rng, 0, 1);
        var values = big.ToDoubleArray();
        for (int i = 0; i < 24; i++)
        {
            if (i < 8 || i >= 20) Assert.Equal(-9, values[i]);
            else Assert.Equal(PhiloxDraws.Normal(5, 12 + (ulong)(i - 8), 0, 1), values[i]);
        }
        using var strided = big.Transpose(0, 1);
        Assert.Contains("contiguous", Assert.Throws<ArgumentException>(() => Ops.FillNormal(strided, rng)).Message);
        using var ints = Tensor.Zeros(new Shape(3), DType.Int32);
        Assert.Throws<ArgumentException>(() => Ops.FillUniform(ints, rng));
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        var rng = new RandomGenerator(1);
        Assert.Contains("integers", Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Integers(new Shape(3), rng, 5, 5)).Message);
        Assert.Contains("truncated_normal", Assert.Throws<ArgumentOutOfRangeException>(() => Ops.TruncatedNormal(new Shape(3), rng, 0, 1, 2, 1)).Message);
        Assert.Throws<ArgumentException>(() => Ops.Uniform(new Shape(3), rng, dtype: DType.Int32));
        Assert.Equal(0UL, rng.Counter);                          // failed draws consume no counters
    }
}
