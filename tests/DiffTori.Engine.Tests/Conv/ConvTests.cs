using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Conv;

/// <summary>Convolution against direct loops, and its two gradients checked as adjoints and against direct loops.</summary>
public class ConvTests
{
    internal sealed record Case(int N, int Groups, int Cg, int Og, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW, int Seed)
    {
        public int C => Groups * Cg;
        public int O => Groups * Og;
        public int OH => (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
        public int OW => (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
        public Shape X => new(N, C, H, W);
        public Shape Wt => new(O, Cg, KH, KW);
        public Shape Y => new(N, O, OH, OW);
    }

    internal static Gen<Case> Cases =>
        from n in Gen.Choose(1, 3) from groups in Gen.Elements(1, 1, 2, 3) from cg in Gen.Choose(1, 4) from og in Gen.Choose(1, 4)
        from kh in Gen.Choose(1, 3) from kw in Gen.Choose(1, 4) from sh in Gen.Choose(1, 3) from sw in Gen.Choose(1, 3)
        from ph in Gen.Choose(0, 2) from pw in Gen.Choose(0, 2) from dh in Gen.Choose(1, 2) from dw in Gen.Choose(1, 2)
        from h in Gen.Choose(1, 13) from w in Gen.Choose(1, 17) from seed in Gens.Seed
        let c = new Case(n, groups, cg, og, h, w, kh, kw, sh, sw, ph, pw, dh, dw, seed)
        where h + 2 * ph >= dh * (kh - 1) + 1 && w + 2 * pw >= dw * (kw - 1) + 1
        select c;

    /// <summary>The 7-loop definition (plus the group loop), in float64.</summary>
    internal static double[] Direct(Case k, double[] x, double[] w)
    {
        var y = new double[k.Y.Length];
        for (int n = 0; n < k.N; n++)
        for (int o = 0; o < k.O; o++)
        for (int i = 0; i < k.OH; i++)
        for (int j = 0; j < k.OW; j++)
        {
            int g = o / k.Og;
            double s = 0;
            for (int c = 0; c < k.Cg; c++)
            for (int a = 0; a < k.KH; a++)
            for (int b = 0; b < k.KW; b++)
            {
                int ih = i * k.SH - k.PH + a * k.DH, iw = j * k.SW - k.PW + b * k.DW;
                if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
                s += x[((n * k.C + g * k.Cg + c) * k.H + ih) * k.W + iw] * w[((o * k.Cg + c) * k.KH + a) * k.KW + b];
            }
            y[((n * k.O + o) * k.OH + i) * k.OW + j] = s;
        }
        return y;
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (p, q) => p * q).Sum();

    [Fact]
    public void ForwardMatchesDirectLoops()
    {
        Prop.ForAll(Cases.ToArbitrary(), k =>
        {
            var xs = Gens.Data(k.X, k.Seed);
            var ws = Gens.Data(k.Wt, k.Seed + 1);
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            {
                using var x = Tensor.FromDoubles(xs, k.X, dtype);
                using var w = Tensor.FromDoubles(ws, k.Wt, dtype);
                using var y = Ops.Conv2d(x, w, null, (k.SH, k.SW), (k.PH, k.PW), (k.DH, k.DW), k.Groups);
                Assert.Equal(k.Y, y.Shape);
                Close.Assert(Direct(k, xs, ws), y.ToDoubleArray(), dtype == DType.Float32 ? 1e-5 : 1e-12, $"conv2d {k}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void GradientsAreAdjointsAndMatchDirectLoops()
    {
        Prop.ForAll(Cases.ToArbitrary(), k =>
        {
            var xs = Gens.Data(k.X, k.Seed);
            var ws = Gens.Data(k.Wt, k.Seed + 1);
            var dys = Gens.Data(k.Y, k.Seed + 2);
            using var x = Tensor.FromDoubles(xs, k.X, DType.Float64);
            using var w = Tensor.FromDoubles(ws, k.Wt, DType.Float64);
            using var dy = Tensor.FromDoubles(dys, k.Y, DType.Float64);
            using var dx = Ops.Conv2dInputGrad(dy, w, k.X, (k.SH, k.SW), (k.PH, k.PW), (k.DH, k.DW), k.Groups);
            using var dw = Ops.Conv2dWeightGrad(x, dy, k.Wt, (k.SH, k.SW), (k.PH, k.PW), (k.DH, k.DW), k.Groups);
            // <conv(x, w), dy> = <x, inputgrad(dy)> = <w, weightgrad(x, dy)>.
            double forward = Dot(Direct(k, xs, ws), dys);
            Assert.Equal(forward, Dot(xs, dx.ToDoubleArray()), 1e-9 * (1 + Math.Abs(forward)));
            Assert.Equal(forward, Dot(ws, dw.ToDoubleArray()), 1e-9 * (1 + Math.Abs(forward)));
            // Direct loops: column i of the linear map x -> conv(x) gives dx[i] = <conv(e_i), dy>; likewise for w.
            var expectedDx = new double[xs.Length];
            var expectedDw = new double[ws.Length];
            for (int n = 0; n < k.N; n++)
            for (int o = 0; o < k.O; o++)
            for (int i = 0; i < k.OH; i++)
            for (int j = 0; j < k.OW; j++)
            {
                int g = o / k.Og;
                double gy = dys[((n * k.O + o) * k.OH + i) * k.OW + j];
                for (int c = 0; c < k.Cg; c++)
                for (int a = 0; a < k.KH; a++)
                for (int b = 0; b < k.KW; b++)
                {
                    int ih = i * k.SH - k.PH + a * k.DH, iw = j * k.SW - k.PW + b * k.DW;
                    if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
                    int xi = ((n * k.C + g * k.Cg + c) * k.H + ih) * k.W + iw, wi = ((o * k.Cg + c) * k.KH + a) * k.KW + b;
                    expectedDx[xi] += ws[wi] * gy;
                    expectedDw[wi] += xs[xi] * gy;
                }
            }
            Close.Assert(expectedDx, dx.ToDoubleArray(), 1e-12, "input grad");
            Close.Assert(expectedDw, dw.ToDoubleArray(), 1e-12, "weight grad");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(50));
    }

    [Fact]
    public void LargerParallelConvolutionWithBiasAndGradients()
    {
        // Big enough that images are split across cores (and the per-image GEMMs nest inside that split).
        var k = new Case(4, 1, 4, 16, 40, 37, 3, 3, 2, 1, 1, 1, 1, 1, 7);
        var xs = Gens.Data(k.X, 1);
        var ws = Gens.Data(k.Wt, 2);
        var bs = Gens.Data(new Shape(k.O), 3);
        var dys = Gens.Data(k.Y, 4);
        using var x = Tensor.FromDoubles(xs, k.X, DType.Float32);
        using var w = Tensor.FromDoubles(ws, k.Wt, DType.Float32);
        using var b = Tensor.FromDoubles(bs, new Shape(k.O), DType.Float32);
        using var y = Ops.Conv2d(x, w, b, (k.SH, k.SW), (k.PH, k.PW));
        var expected = Direct(k, xs, ws);
        int plane = k.OH * k.OW;
        for (int i = 0; i < expected.Length; i++) expected[i] += bs[i / plane % k.O];
        Close.Assert(expected, y.ToDoubleArray(), 1e-5, "conv2d with bias");

        using var w64 = Tensor.FromDoubles(ws, k.Wt, DType.Float64);
        using var x64 = Tensor.FromDoubles(xs, k.X, DType.Float64);
        using var dy = Tensor.FromDoubles(dys, k.Y, DType.Float64);
        using var dx = Ops.Conv2dInputGrad(dy, w64, k.X, (k.SH, k.SW), (k.PH, k.PW));
        using var dw = Ops.Conv2dWeightGrad(x64, dy, k.Wt, (k.SH, k.SW), (k.PH, k.PW));
        double forward = Dot(Direct(k, xs, ws), dys);
        Assert.Equal(forward, Dot(xs, dx.ToDoubleArray()), 1e-9 * (1 + Math.Abs(forward)));
        Assert.Equal(forward, Dot(ws, dw.ToDoubleArray()), 1e-9 * (1 + Math.Abs(forward)));
    }

    [Fact]
    public void Conv1dIsConv2dWithHeightOne()
    {
        var k = new Case(2, 2, 3, 2, 1, 23, 1, 4, 1, 2, 0, 1, 1, 2, 5);
        var xs = Gens.Data(k.X, 1);
        var ws = Gens.Data(k.Wt, 2);
        var dys = Gens.Data(k.Y, 3);
        using var x = Tensor.FromDoubles(xs, new Shape(k.N, k.C, k.W), DType.Float64);
        using var w = Tensor.FromDoubles(ws, new Shape(k.O, k.Cg, k.KW), DType.Float64);
        using var dy = Tensor.FromDoubles(dys, new Shape(k.N, k.O, k.OW), DType.Float64);
        using var y = Ops.Conv1d(x, w, null, stride: 2, padding: 1, dilation: 2, groups: 2);
        Assert.Equal(new Shape(k.N, k.O, k.OW), y.Shape);
        Close.Assert(Direct(k, xs, ws), y.ToDoubleArray(), 1e-12, "conv1d");
        using var dx = Ops.Conv1dInputGrad(dy, w, x.Shape, 2, 1, 2, 2);
        using var dw = Ops.Conv1dWeightGrad(x, dy, w.Shape, 2, 1, 2, 2);
        double forward = Dot(Direct(k, xs, ws), dys);
        Assert.Equal(forward, Dot(xs, dx.ToDoubleArray()), 1e-9);
        Assert.Equal(forward, Dot(ws, dw.ToDoubleArray()), 1e-9);
    }

    [Fact]
    public void BadShapesNameTheOp()
    {
        using var x = Tensor.Zeros(new Shape(1, 4, 8, 8));
        using var w = Tensor.Zeros(new Shape(6, 3, 3, 3));
        var e = Assert.Throws<TensorShapeException>(() => Ops.Conv2d(x, w));
        Assert.Contains("conv2d", e.Message);
        using var w2 = Tensor.Zeros(new Shape(6, 2, 3, 3));
        e = Assert.Throws<TensorShapeException>(() => Ops.Conv2d(x, w2, groups: 3));
        Assert.Contains("groups", e.Message);
        using var big = Tensor.Zeros(new Shape(2, 4, 9, 9));
        e = Assert.Throws<TensorShapeException>(() => Ops.Conv2d(x, big.Narrow(1, 0, 4).Narrow(1, 0, 4)));
        Assert.Contains("conv2d", e.Message);
    }
}
