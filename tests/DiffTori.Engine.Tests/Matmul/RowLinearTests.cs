using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Matmul;

/// <summary>
/// The batch-1 linear kernels (Ops.LinearActivation on one row, Ops.LinearBackwardRow) against float64 naive
/// loops: awkward extents (K not a multiple of the vector widths, outputs not a multiple of four), weights large
/// enough to be split between the cores, float32 and float64, with and without bias, ELU epilogue, accumulation.
/// </summary>
public class RowLinearTests
{
    private static double[] Data(System.Random random, int n) => Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1).ToArray();

    private static Gen<(int Out, int In, int Seed)> Sizes =>
        from outF in Gens.Extent() from inF in Gens.Extent() from seed in Gens.Seed select (outF, inF, seed);

    [Fact]
    public void ForwardMatchesNaiveOnRandomSizes() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), Prop.ForAll(Sizes.ToArbitrary(), s =>
        {
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                ForwardCase(s.Out, s.In, s.Seed, dtype, s.Seed % 2 == 0, s.Seed % 3 == 0 ? LinearEpilogue.None : LinearEpilogue.Elu, 0.5 + s.Seed % 2);
        }));

    [Theory]
    [InlineData(512, 56)]   // TD-MPC's first layer: K = 3·16 + 8 (Vector512, then Vector256 blocks)
    [InlineData(512, 512)]  // split between the cores
    [InlineData(50, 512)]
    [InlineData(37, 4099)]  // split, outputs not a multiple of four
    [InlineData(1, 5)]
    public void ForwardMatchesNaiveOnMlpShapes(int outF, int inF)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        foreach (var act in new[] { LinearEpilogue.None, LinearEpilogue.Elu })
        {
            ForwardCase(outF, inF, outF + inF, dtype, true, act, 1.0);
            ForwardCase(outF, inF, outF * inF, dtype, false, act, 0.7);
        }
    }

    private static void ForwardCase(int outF, int inF, int seed, DType dtype, bool withBias, LinearEpilogue act, double alpha) =>
        ForwardCase(new Shape(1, inF), outF, seed, dtype, withBias, act, alpha);

    [Fact]
    public void BatchedForwardMatchesNaiveOnRandomSizes() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(30), Prop.ForAll(
            (from lead in Gen.Elements(new Shape(2), new Shape(7), new Shape(2, 3), new Shape(33)) from s in Sizes select (lead, s)).ToArbitrary(), c =>
            {
                var xs = c.lead.Insert(c.lead.Rank, c.s.In);
                foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                    ForwardCase(xs, c.s.Out, c.s.Seed, dtype, c.s.Seed % 2 == 0, c.s.Seed % 3 == 0 ? LinearEpilogue.None : LinearEpilogue.Elu, 0.5 + c.s.Seed % 2);
            }));

    [Theory]
    [InlineData(512, 512, 56)]  // TD-MPC's layers at batch 512: bias and ELU in one pass, rows split between the cores
    [InlineData(512, 50, 512)]
    [InlineData(64, 512, 512)]
    public void BatchedForwardMatchesNaiveOnMlpShapes(int rows, int outF, int inF)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            ForwardCase(new Shape(rows, inF), outF, rows + outF, dtype, true, LinearEpilogue.Elu, 1.0);
    }

    private static void ForwardCase(Shape xShape, int outF, int seed, DType dtype, bool withBias, LinearEpilogue act, double alpha)
    {
        int inF = xShape[xShape.Rank - 1], rows = xShape.Length / inF;
        var random = new System.Random(seed);
        using var x = Tensor.FromDoubles(Data(random, xShape.Length), xShape).Cast(dtype);
        using var w = Tensor.FromDoubles(Data(random, outF * inF), new Shape(outF, inF)).Cast(dtype);
        using var b = Tensor.FromDoubles(Data(random, outF), new Shape(outF)).Cast(dtype);
        using var y = Ops.LinearActivation(x, w, withBias ? b : null, act, alpha);
        Assert.Equal(xShape.With(xShape.Rank - 1, outF), y.Shape);
        double[] xr = x.ToDoubleArray(), wr = w.ToDoubleArray(), br = b.ToDoubleArray(), got = y.ToDoubleArray();
        double eps = dtype == DType.Float32 ? 2e-6 : 1e-13;
        for (int i = 0; i < rows; i++)
        for (int o = 0; o < outF; o++)
        {
            double z = withBias ? br[o] : 0, scale = withBias ? Math.Abs(br[o]) : 0;
            for (int p = 0; p < inF; p++)
            {
                z += xr[i * inF + p] * wr[o * inF + p];
                scale += Math.Abs(xr[i * inF + p] * wr[o * inF + p]);
            }
            double expected = act == LinearEpilogue.Elu && z <= 0 ? alpha * (Math.Exp(z) - 1) : z;
            if (!(Math.Abs(got[i * outF + o] - expected) <= eps * (scale + 1)))
                Assert.Fail($"linear {dtype} x {xShape} -> {outF} bias={withBias} {act}: y[{i},{o}] = {got[i * outF + o]:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void BackwardMatchesNaiveOnRandomSizes() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), Prop.ForAll(Sizes.ToArbitrary(), s =>
        {
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                BackwardCase(s.Out, s.In, s.Seed, dtype, accumulate: s.Seed % 2 == 0, wantX: s.Seed % 3 != 0, wantW: s.Seed % 5 != 0);
        }));

    [Theory]
    [InlineData(512, 56)]
    [InlineData(512, 512)]
    [InlineData(50, 512)]
    [InlineData(37, 4099)]
    public void BackwardMatchesNaiveOnMlpShapes(int outF, int inF)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        foreach (bool accumulate in new[] { false, true })
            BackwardCase(outF, inF, outF + inF, dtype, accumulate, wantX: true, wantW: true);
    }

    private static void BackwardCase(int outF, int inF, int seed, DType dtype, bool accumulate, bool wantX, bool wantW)
    {
        var random = new System.Random(seed);
        using var g = Tensor.FromDoubles(Data(random, outF), new Shape(1, outF)).Cast(dtype);
        using var x = Tensor.FromDoubles(Data(random, inF), new Shape(1, inF)).Cast(dtype);
        using var w = Tensor.FromDoubles(Data(random, outF * inF), new Shape(outF, inF)).Cast(dtype);
        var prior = Data(random, outF * inF);
        using var gradW = Tensor.FromDoubles(prior, new Shape(outF, inF)).Cast(dtype);
        using var gradX = Tensor.FromDoubles(Data(random, inF), new Shape(1, inF)).Cast(dtype); // overwritten
        Ops.LinearBackwardRow(g, x, w, wantX ? gradX : null, wantW ? gradW : null, accumulate);

        double[] gr = g.ToDoubleArray(), xr = x.ToDoubleArray(), wr = w.ToDoubleArray(), priorR = Tensor.FromDoubles(prior, new Shape(outF, inF)).Cast(dtype).ToDoubleArray();
        double eps = dtype == DType.Float32 ? 2e-6 : 1e-13;
        if (wantX)
        {
            var got = gradX.ToDoubleArray();
            for (int p = 0; p < inF; p++)
            {
                double sum = 0, scale = 0;
                for (int o = 0; o < outF; o++) { sum += gr[o] * wr[o * inF + p]; scale += Math.Abs(gr[o] * wr[o * inF + p]); }
                if (!(Math.Abs(got[p] - sum) <= eps * (scale + 1))) Assert.Fail($"row linear backward {dtype} {inF}->{outF}: gradX[{p}] = {got[p]:R}, expected {sum:R}");
            }
        }
        var gotW = gradW.ToDoubleArray();
        for (int o = 0; o < outF; o++)
        for (int p = 0; p < inF; p++)
        {
            int i = o * inF + p;
            double expected = !wantW ? priorR[i] : (accumulate ? priorR[i] : 0) + gr[o] * xr[p];
            if (!(Math.Abs(gotW[i] - expected) <= eps * (Math.Abs(expected) + 1)))
                Assert.Fail($"row linear backward {dtype} {inF}->{outF} accumulate={accumulate} wantW={wantW}: gradW[{o},{p}] = {gotW[i]:R}, expected {expected:R}");
        }
    }

    [Fact]
    public void ShapeErrorsNameTheOperands()
    {
        using var g = Tensor.Zeros(new Shape(1, 4));
        using var x = Tensor.Zeros(new Shape(2, 3));
        using var w = Tensor.Zeros(new Shape(4, 3));
        var e = Assert.Throws<TensorShapeException>(() => Ops.LinearBackwardRow(g, x, w, null, null, false));
        Assert.Contains("[2, 3]", e.Message);
        using var badX = Tensor.Zeros(new Shape(1, 5));
        Assert.Throws<TensorShapeException>(() => Ops.LinearActivation(badX, w, null, LinearEpilogue.Elu));
    }

    [Fact]
    public void BackwardAllocatesNothingInSteadyState()
    {
        using var g = Tensor.Ones(new Shape(1, 512));
        using var x = Tensor.Ones(new Shape(1, 512));
        using var w = Tensor.Ones(new Shape(512, 512));
        using var gradW = Tensor.Zeros(new Shape(512, 512));
        using var gradX = Tensor.Zeros(new Shape(1, 512));
        Assert.Equal(0, SteadyStateAllocation.AllocatedBy(() => Ops.LinearBackwardRow(g, x, w, gradX, gradW, accumulate: true)));

        Ops.LinearBackwardRow(g, x, w, gradX, gradW, accumulate: false);
        for (int i = 0; i < 20; i++) Ops.LinearBackwardRow(g, x, w, gradX, gradW, accumulate: true);
        Assert.All(gradW.ToArray<float>(), v => Assert.Equal(21f, v));
        Assert.All(gradX.ToArray<float>(), v => Assert.Equal(512f, v));
    }
}
