using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Gpu;

public class GpuElementwiseTests
{
    [Fact]
    public void UploadDownloadRoundTrips()
    {
        var data = new[] { 1.5f, -2, 3, 4, 5, 6 };
        using var t = Tensor.FromArray<float>(data, new Shape(2, 3), Sim.Device);
        Assert.IsType<GpuStorage>(t.Storage);
        Assert.Equal(data, t.ToArray<float>());
        using var ints = Tensor.FromArray<int>(new[] { 7, -8, 9 }, Sim.Device);
        Assert.Equal(new[] { 7, -8, 9 }, ints.ToArray<int>());
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    [InlineData(DType.Int32)]
    public void FillWritesEveryElementOfAStridedView(DType dtype)
    {
        using var t = Tensor.Zeros(new Shape(4, 5), dtype, Sim.Device);
        using var column = t.Narrow(1, 1, 2);             // [4, 2] with row stride 5
        column.Device.Backend.Fill(column, 3);
        var v = t.ToDoubleArray();
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 5; c++)
                Assert.Equal(c is 1 or 2 ? 3.0 : 0.0, v[r * 5 + c]);
    }

    [Fact]
    public void CopyBroadcastsTransposesAndConverts()
    {
        using var x = Sim.Tensor(new Shape(3, 1, 4), 1, DType.Float64);
        using var xt = x.Permute(2, 1, 0);                 // [4, 1, 3], strided
        using var y = Tensor.Empty(new Shape(2, 4, 5, 3), DType.Float32, Sim.Device);
        using var source = xt.Expand(new Shape(2, 4, 5, 3));
        y.Device.Backend.Copy(source, y);
        var xs = x.ToDoubleArray();
        var ys = y.ToDoubleArray();
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 5; j++)
                    for (int k = 0; k < 3; k++)
                        Assert.Equal((float)xs[k * 4 + i], ys[((b * 4 + i) * 5 + j) * 3 + k]);
    }

    [Theory]
    [InlineData(DType.Float32, DType.Int32)]
    [InlineData(DType.Float64, DType.Int32)]
    [InlineData(DType.Int32, DType.Float32)]
    [InlineData(DType.Int32, DType.Float64)]
    [InlineData(DType.Float64, DType.Float32)]
    [InlineData(DType.Float32, DType.Float64)]
    public void CopyConvertsLikeACast(DType from, DType to)
    {
        double[] values = from == DType.Int32 ? [-3, 0, 7, 123456789] : [-2.75, -0.5, 0, 0.5, 2.99, 1e10];
        using var x = Sim.FromDoubles(values, new Shape(values.Length), from);
        using var y = Tensor.Empty(x.Shape, to, Sim.Device);
        y.Device.Backend.Copy(x, y);
        var got = y.ToDoubleArray();
        for (int i = 0; i < values.Length; i++)
        {
            double v = from == DType.Float32 ? (float)values[i] : values[i];
            double expected = to switch
            {
                DType.Int32 => (double)(int)v,          // .NET saturates, as the GPU does
                DType.Float32 => (float)v,
                _ => v,
            };
            Assert.Equal(expected, got[i]);
        }
    }

    public static TheoryData<UnaryOp, double, double> UnaryCases()
    {
        var data = new TheoryData<UnaryOp, double, double>();
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            var (p0, p1) = op switch
            {
                UnaryOp.Elu => (0.7, 0.0),
                UnaryOp.Softplus => (1.5, 2.0),
                UnaryOp.Clamp => (-0.5, 0.8),
                UnaryOp.PowScalar => (3.0, 0.0),
                UnaryOp.Affine => (-1.5, 0.25),
                UnaryOp.DivScalarBy => (2.0, 0.0),
                UnaryOp.MaxScalar or UnaryOp.MinScalar => (0.3, 0.0),
                UnaryOp.GreaterScalar or UnaryOp.GreaterEqualScalar or UnaryOp.LessScalar
                    or UnaryOp.LessEqualScalar or UnaryOp.EqualScalar => (0.5, 0.0),
                _ => (0.0, 0.0),
            };
            data.Add(op, p0, p1);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(UnaryCases))]
    public void UnaryMatchesReferenceOnAStridedInput(UnaryOp op, double p0, double p1)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            bool positive = op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt;
            var values = Gens.Data(new Shape(24), 5, positive ? 0.1 : -3, 3);
            values[3] = 0.5;                                           // exercise the == comparisons
            if (op == UnaryOp.IsNonFinite) { values[1] = double.NaN; values[2] = double.PositiveInfinity; }
            using var x = Sim.FromDoubles(values, new Shape(4, 6), dtype);
            using var xt = x.Transpose(0, 1);                          // [6, 4] strided view
            using var y = Tensor.Empty(xt.Shape, dtype, Sim.Device);
            y.Device.Backend.Unary(op, xt, y, p0, p1);
            var got = y.ToDoubleArray();
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 4; j++)
                {
                    double v = values[j * 6 + i];
                    if (dtype == DType.Float32) v = (float)v;
                    double expected = ElemRef.Unary(op, v, p0, p1);
                    double actual = got[i * 4 + j];
                    double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
                    Assert.True(Math.Abs(expected - actual) <= tol * (1 + Math.Abs(expected)),
                        $"{op} {dtype} x={v}: expected {expected}, got {actual}");
                }
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void BinaryBroadcastsEveryOp(DType dtype)
    {
        var sa = new Shape(3, 1, 5);
        var sb = new Shape(4, 1);
        var ys = new Shape(3, 4, 5);
        var av = Gens.Data(sa, 11, -2, 2);
        var bv = Gens.Data(sb, 12, 0.2, 2);
        av[0] = bv[0];                                        // an equal pair for the comparisons
        using var a = Sim.FromDoubles(av, sa, dtype);
        using var b = Sim.FromDoubles(bv, sb, dtype);
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            using var y = Tensor.Empty(ys, dtype, Sim.Device);
            y.Device.Backend.Binary(op, a, b, y);
            var got = y.ToDoubleArray();
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++)
                    for (int k = 0; k < 5; k++)
                    {
                        double x0 = av[i * 5 + k], x1 = bv[j];
                        if (dtype == DType.Float32) { x0 = (float)x0; x1 = (float)x1; }
                        double e = op switch
                        {
                            BinaryOp.Add => x0 + x1, BinaryOp.Sub => x0 - x1, BinaryOp.Mul => x0 * x1, BinaryOp.Div => x0 / x1,
                            BinaryOp.Max => Math.Max(x0, x1), BinaryOp.Min => Math.Min(x0, x1), BinaryOp.Pow => Math.Pow(x0, x1),
                            BinaryOp.Equal => x0 == x1 ? 1 : 0, BinaryOp.NotEqual => x0 != x1 ? 1 : 0,
                            BinaryOp.Greater => x0 > x1 ? 1 : 0, BinaryOp.GreaterEqual => x0 >= x1 ? 1 : 0,
                            BinaryOp.Less => x0 < x1 ? 1 : 0, _ => x0 <= x1 ? 1 : 0,
                        };
                        double a1 = got[(i * 4 + j) * 5 + k];
                        if (double.IsNaN(e)) Assert.True(double.IsNaN(a1), $"{op}: expected NaN, got {a1}");
                        else Assert.True(Math.Abs(e - a1) <= Sim.Tol(dtype) * (1 + Math.Abs(e)), $"{op} {dtype} ({x0}, {x1}): expected {e}, got {a1}");
                    }
        }
    }

    [Fact]
    public void PowOfANegativeBaseWithAnIntegralExponent()
    {
        using var a = Sim.FromDoubles([-2, -2, -2, 0, 4], new Shape(5));
        using var b = Sim.FromDoubles([3, 2, 0.5, 2, -0.5], new Shape(5));
        using var y = Tensor.Empty(new Shape(5), DType.Float64, Sim.Device);
        y.Device.Backend.Binary(BinaryOp.Pow, a, b, y);
        var got = y.ToDoubleArray();
        Assert.Equal(-8, got[0], 12);
        Assert.Equal(4, got[1], 12);
        Assert.True(double.IsNaN(got[2]));
        Assert.Equal(0, got[3], 12);
        Assert.Equal(0.5, got[4], 12);
    }

    [Fact]
    public void WhereSelectsWithBroadcastConditionOfAnyDType()
    {
        foreach (var condType in new[] { DType.Float32, DType.Int32 })
        {
            using var cond = Sim.FromDoubles([1, 0, 2], new Shape(3), condType);
            using var a = Sim.FromDoubles([10, 20], new Shape(2, 1), DType.Float32);
            using var b = Sim.FromDoubles([-1, -2, -3], new Shape(3), DType.Float32);
            using var y = Tensor.Empty(new Shape(2, 3), DType.Float32, Sim.Device);
            y.Device.Backend.Where(cond, a, b, y);
            Assert.Equal(new double[] { 10, -2, 10, 20, -2, 20 }, y.ToDoubleArray());
        }
    }

    [Fact]
    public void ElementwiseAgreesWithTheCpuBackendWhereItExists()
    {
        using var xc = Gens.Tensor(new Shape(5, 7), 21, DType.Float32);
        using var bc = Gens.Tensor(new Shape(7), 22, DType.Float32);
        using var yc = Tensor.Empty(xc.Shape, DType.Float32);
        Device.Cpu.Backend.Binary(BinaryOp.Mul, xc, bc, yc);
        using var xg = xc.To(Sim.Device);
        using var bg = bc.To(Sim.Device);
        using var yg = Tensor.Empty(xg.Shape, DType.Float32, Sim.Device);
        yg.Device.Backend.Binary(BinaryOp.Mul, xg, bg, yg);
        Close.Assert(yc.ToDoubleArray(), yg.ToDoubleArray(), 1e-6, "mul");
        foreach (var op in new[] { UnaryOp.Tanh, UnaryOp.Sigmoid, UnaryOp.Softplus, UnaryOp.Mish })
        {
            Device.Cpu.Backend.Unary(op, xc, yc, 1, 20);
            yg.Device.Backend.Unary(op, xg, yg, 1, 20);
            Close.Assert(yc.ToDoubleArray(), yg.ToDoubleArray(), 1e-5, op.ToString());
        }
    }

    [Fact]
    public void NaNHandlingFollowsPyTorch()
    {
        // torch: sign(nan) = 0; relu, clamp, maximum and max-reductions propagate NaN.
        using var x = Sim.FromDoubles([double.NaN], new Shape(1));
        using var y = Tensor.Empty(x.Shape, DType.Float64, Sim.Device);
        var backend = Sim.Device.Backend;
        backend.Unary(UnaryOp.Sign, x, y, 0, 0);
        Assert.Equal(0, y.Item());
        foreach (var op in new[] { UnaryOp.Relu, UnaryOp.Clamp, UnaryOp.MaxScalar, UnaryOp.MinScalar })
        {
            backend.Unary(op, x, y, -1, 1);
            Assert.True(double.IsNaN(y.Item()), $"{op}(NaN) should be NaN");
        }
        using var zero = Sim.FromDoubles([0], new Shape(1));
        backend.Binary(BinaryOp.Max, zero, x, y);
        Assert.True(double.IsNaN(y.Item()));
        backend.Binary(BinaryOp.Min, x, zero, y);
        Assert.True(double.IsNaN(y.Item()));
    }
}
