using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class UnaryOpTests
{
    public static TheoryData<UnaryOp, DType> AllOps()
    {
        var data = new TheoryData<UnaryOp, DType>();
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            data.Add(op, DType.Float32);
            data.Add(op, DType.Float64);
        }
        return data;
    }

    /// <summary>Parameters and an input range where each op is well defined and well conditioned.</summary>
    private static (double P0, double P1, double Low, double High, bool Quantize, bool AwayFromZero) Setup(UnaryOp op) => op switch
    {
        UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt => (0, 0, 0.05, 5, false, false),
        UnaryOp.Reciprocal => (0, 0, 0.1, 3, false, true),
        UnaryOp.DivScalarBy => (3, 0, 0.1, 3, false, true),
        UnaryOp.PowScalar => (2.5, 0, 0.1, 3, false, false),
        UnaryOp.Exp => (0, 0, -10, 10, false, false),
        UnaryOp.Tanh or UnaryOp.Sigmoid or UnaryOp.Silu or UnaryOp.Mish => (0, 0, -30, 30, false, false),
        UnaryOp.Softplus => (2, 5, -30, 30, false, false),
        UnaryOp.Elu => (1.5, 0, -10, 10, false, false),
        UnaryOp.Sin or UnaryOp.Cos => (0, 0, -6, 6, false, false),
        UnaryOp.Clamp => (-0.5, 0.75, -2, 2, false, false),
        UnaryOp.Affine => (1.5, -0.25, -2, 2, false, false),
        UnaryOp.Relu or UnaryOp.Sign or UnaryOp.Abs => (0, 0, -2, 2, true, false),
        UnaryOp.GreaterScalar or UnaryOp.GreaterEqualScalar or UnaryOp.LessScalar or UnaryOp.LessEqualScalar
            or UnaryOp.EqualScalar or UnaryOp.MaxScalar or UnaryOp.MinScalar => (0.5, 0, -2, 2, true, false),
        _ => (0, 0, -2, 2, false, false),
    };

    private static double[] Values(UnaryOp op, Shape shape, int seed)
    {
        var (_, _, low, high, quantize, away) = Setup(op);
        var v = Gens.Data(shape, seed, low, high);
        if (quantize) ElemProps.Quantize(v);
        if (away) for (int i = 0; i < v.Length; i += 2) v[i] = -v[i];
        if (op == UnaryOp.IsNonFinite)
            for (int i = 0; i < v.Length; i++)
                v[i] = i % 7 == 3 ? double.NaN : i % 11 == 5 ? double.PositiveInfinity : i % 13 == 6 ? double.NegativeInfinity : v[i];
        return v;
    }

    [Theory]
    [MemberData(nameof(AllOps))]
    public void EveryUnaryOpMatchesNaiveOnDenseAndStridedInputs(UnaryOp op, DType dtype)
    {
        var (p0, p1, _, _, _, _) = Setup(op);
        var gen = from shape in Gens.Shape(0, 4, 2000)
                  from seed in Gens.Seed
                  from layout in Gen.Choose(0, 2)
                  select (shape, seed, layout);
        ElemProps.Check(gen, c =>
        {
            var values = Values(op, c.shape, c.seed);
            using var x = c.layout == 0 ? Tensor.FromDoubles(values, c.shape, dtype) : ElemRef.Strided(c.shape, values, dtype, c.layout == 2);
            var input = x.ToDoubleArray(); // the values as rounded to dtype
            using var y = Ops.Unary(op, x, p0, p1);
            Assert.Equal(c.shape, y.Shape);
            Assert.True(y.IsContiguous);
            var expected = input.Select(v => ElemRef.Unary(op, v, p0, p1)).ToArray();
            Close.Assert(expected, y.ToDoubleArray(), Close.For(dtype), $"{op} {dtype.Name()} {c.shape} layout {c.layout}");
        }, 20);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void StableFunctionsStayFiniteAndExactForLargeInputs(DType dtype)
    {
        double[] big = [-1000, -100, -40, 40, 100, 1000];
        using var x = Tensor.FromDoubles(big, new Shape(big.Length), dtype);
        using var sigmoid = Ops.Sigmoid(x);
        using var softplus = Ops.Softplus(x);
        using var softplusBeta = Ops.Softplus(x, beta: 0.01, threshold: 20);
        using var mish = Ops.Mish(x);
        using var silu = Ops.Silu(x);
        using var tanh = Ops.Tanh(x);
        foreach (var t in new[] { sigmoid, softplus, softplusBeta, mish, silu, tanh })
            Assert.All(t.ToDoubleArray(), v => Assert.True(double.IsFinite(v)));
        Close.Assert(big.Select(ElemRef.Sigmoid).ToArray(), sigmoid.ToDoubleArray(), Close.For(dtype), "sigmoid");
        Close.Assert(big.Select(v => ElemRef.Softplus(v, 1, 20)).ToArray(), softplus.ToDoubleArray(), Close.For(dtype), "softplus");
        Close.Assert(big.Select(v => ElemRef.Softplus(v, 0.01, 20)).ToArray(), softplusBeta.ToDoubleArray(), Close.For(dtype), "softplus beta");
        Assert.Equal([-0.0, -0.0, 0, 40, 100, 1000], mish.ToDoubleArray().Select(v => Math.Round(v, 6)).ToArray());
    }

    [Fact]
    public void SoftplusKeepsRelativeAccuracyForVeryNegativeInputs()
    {
        // log(1 + e^x) ≈ e^x here; a naive log(1 + e^x) in double would lose most digits.
        using var x = Tensor.FromDoubles([-30, -50, -80], new Shape(3), DType.Float64);
        using var y = Ops.Softplus(x);
        var got = y.ToDoubleArray();
        double[] exact = [Math.Exp(-30) - Math.Exp(-60) / 2, Math.Exp(-50), Math.Exp(-80)];
        for (int i = 0; i < 3; i++) Assert.True(Math.Abs(got[i] / exact[i] - 1) < 1e-12, $"softplus({x.ToDoubleArray()[i]}) = {got[i]:R}, expected {exact[i]:R}");
    }

    [Theory]
    [InlineData(DType.Float32, 3e-7)]
    [InlineData(DType.Float64, 1e-15)]
    public void TanhAndMishKeepRelativeAccuracyNearZero(DType dtype, double tolerance)
    {
        double[] v = [0, 1e-9, -3e-7, 1e-5, -0.01, 0.0624, -0.0626, 0.3, 0.49, -0.51, -2];
        using var x = Tensor.FromDoubles(v, new Shape(v.Length), dtype);
        var input = x.ToDoubleArray();
        using var tanh = Ops.Tanh(x);
        var got = tanh.ToDoubleArray();
        Assert.Equal(0.0, got[0]);
        for (int i = 1; i < v.Length; i++)
            Assert.True(Math.Abs(got[i] / Math.Tanh(input[i]) - 1) <= tolerance, $"tanh({input[i]:R}) = {got[i]:R}, expected {Math.Tanh(input[i]):R}");
        using var far = Tensor.FromDoubles([-30.0], new Shape(1), dtype);
        using var mish = Ops.Mish(far);
        double xf = far.ToDoubleArray()[0], expected = xf * Math.Tanh(Math.Exp(xf) - Math.Exp(2 * xf) / 2); // log1p(e) = e − e²/2 + …
        Assert.True(Math.Abs(mish.ToDoubleArray()[0] / expected - 1) <= 10 * tolerance, $"mish(-30) = {mish.ToDoubleArray()[0]:R}, expected {expected:R}");
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(1.0)]
    [InlineData(-1.5)]
    [InlineData(0.0)]
    public void PowScalarFastPathsMatchMathPow(double exponent)
    {
        var values = Gens.Data(new Shape(37), 3, 0.1, 3);
        using var x = Tensor.FromDoubles(values, new Shape(37), DType.Float64);
        using var y = Ops.Pow(x, exponent);
        Close.Assert(values.Select(v => Math.Pow(v, exponent)).ToArray(), y.ToDoubleArray(), 1e-12);
    }

    [Fact]
    public void NamedHelpersCallTheRightOps()
    {
        var v = new double[] { -1.5, -0.5, 0, 0.5, 2 };
        using var x = Tensor.FromDoubles(v, new Shape(5), DType.Float64);
        using var add = Ops.Add(x, 3);
        using var mul = Ops.Mul(x, -2);
        using var affine = Ops.Affine(x, 2, 1);
        using var greater = Ops.Greater(x, 0);
        using var less = Ops.Less(x, 0);
        using var clamp = Ops.Clamp(x, -1, 1);
        using var elu = Ops.Elu(x, 2);
        Assert.Equal(v.Select(a => a + 3), add.ToDoubleArray());
        Assert.Equal(v.Select(a => a * -2), mul.ToDoubleArray());
        Assert.Equal(v.Select(a => 2 * a + 1), affine.ToDoubleArray());
        Assert.Equal([0, 0, 0, 1, 1], greater.ToDoubleArray());
        Assert.Equal([1, 1, 0, 0, 0], less.ToDoubleArray());
        Assert.Equal([-1, -0.5, 0, 0.5, 1], clamp.ToDoubleArray());
        Close.Assert(v.Select(a => a > 0 ? a : 2 * (Math.Exp(a) - 1)).ToArray(), elu.ToDoubleArray(), 1e-12);
    }

    [Fact]
    public void LargeInputsTakeTheParallelPathAndStillMatch()
    {
        var shape = new Shape(300, 700); // > 64K elements
        var values = Gens.Data(shape, 5, -5, 5);
        using var x = Tensor.FromDoubles(values, shape, DType.Float32);
        using var y = Ops.Tanh(x);
        using var xt = ElemRef.Strided(shape, values, DType.Float32, useSlice: false);
        using var yt = Ops.Silu(xt);
        var input = x.ToDoubleArray();
        Close.Assert(input.Select(Math.Tanh).ToArray(), y.ToDoubleArray(), 2e-5, "tanh");
        Close.Assert(input.Select(v => v * ElemRef.Sigmoid(v)).ToArray(), yt.ToDoubleArray(), 2e-5, "silu strided");
    }

    [Fact]
    public void ResultOverloadWritesInPlace()
    {
        using var x = Tensor.FromDoubles([1, 2, 3], new Shape(3), DType.Float64);
        Ops.Unary(UnaryOp.Square, x, x);
        Assert.Equal([1, 4, 9], x.ToDoubleArray());
        Ops.Exp(x, x);
        Close.Assert([Math.E, Math.Exp(4), Math.Exp(9)], x.ToDoubleArray(), 1e-12);
    }
}
