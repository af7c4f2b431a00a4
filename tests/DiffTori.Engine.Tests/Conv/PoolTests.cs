using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Conv;

/// <summary>Max and average pooling (and their backward passes) against naive loops with PyTorch's rules.</summary>
public class PoolTests
{
    private sealed record Case(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int Seed)
    {
        public int OH => (H + 2 * PH - KH) / SH + 1;
        public int OW => (W + 2 * PW - KW) / SW + 1;
        public Shape X => new(N, C, H, W);
        public Shape Y => new(N, C, OH, OW);
    }

    private static Gen<Case> Cases =>
        from n in Gen.Choose(1, 2) from c in Gen.Choose(1, 3) from kh in Gen.Choose(1, 4) from kw in Gen.Choose(1, 4)
        from sh in Gen.Choose(1, 3) from sw in Gen.Choose(1, 3) from ph in Gen.Choose(0, kh / 2) from pw in Gen.Choose(0, kw / 2)
        from h in Gen.Choose(1, 15) from w in Gen.Choose(1, 15) from seed in Gens.Seed
        where h + 2 * ph >= kh && w + 2 * pw >= kw
        select new Case(n, c, h, w, kh, kw, sh, sw, ph, pw, seed);

    [Fact]
    public void MaxPoolForwardArgmaxAndBackward()
    {
        Prop.ForAll(Cases.ToArbitrary(), k =>
        {
            var xs = Gens.Data(k.X, k.Seed);
            var dys = Gens.Data(k.Y, k.Seed + 1);
            using var x = Tensor.FromDoubles(xs, k.X, DType.Float64);
            using var y = Ops.MaxPool2d(x, (k.KH, k.KW), out var argmax, (k.SH, k.SW), (k.PH, k.PW));
            using var _ = argmax;
            var expected = new double[k.Y.Length];
            var expectedArg = new int[k.Y.Length];
            var expectedDx = new double[xs.Length];
            for (int p = 0; p < k.N * k.C; p++)
            for (int i = 0; i < k.OH; i++)
            for (int j = 0; j < k.OW; j++)
            {
                double best = double.NegativeInfinity;
                int at = -1;
                for (int a = 0; a < k.KH; a++)
                for (int b = 0; b < k.KW; b++)
                {
                    int ih = i * k.SH - k.PH + a, iw = j * k.SW - k.PW + b;
                    if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
                    double v = xs[p * k.H * k.W + ih * k.W + iw];
                    if (v > best) { best = v; at = ih * k.W + iw; }
                }
                int o = (p * k.OH + i) * k.OW + j;
                expected[o] = best;
                expectedArg[o] = at;
                expectedDx[p * k.H * k.W + at] += dys[o];
            }
            Assert.Equal(expected, y.ToDoubleArray());
            Assert.Equal(expectedArg, argmax.ToArray<int>());
            using var dy = Tensor.FromDoubles(dys, k.Y, DType.Float64);
            using var dx = Ops.MaxPool2dBackward(dy, argmax, k.X, (k.KH, k.KW), (k.SH, k.SW), (k.PH, k.PW));
            Close.Assert(expectedDx, dx.ToDoubleArray(), 1e-14, "max pool backward");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void AvgPoolCountsPaddingAndBackwardIsAdjoint()
    {
        Prop.ForAll(Cases.ToArbitrary(), k =>
        {
            var xs = Gens.Data(k.X, k.Seed);
            var dys = Gens.Data(k.Y, k.Seed + 1);
            foreach (var dtype in new[] { DType.Float64, DType.Float32 })
            {
                using var x = Tensor.FromDoubles(xs, k.X, dtype);
                using var y = Ops.AvgPool2d(x, (k.KH, k.KW), (k.SH, k.SW), (k.PH, k.PW));
                var expected = new double[k.Y.Length];
                var expectedDx = new double[xs.Length];
                for (int p = 0; p < k.N * k.C; p++)
                for (int i = 0; i < k.OH; i++)
                for (int j = 0; j < k.OW; j++)
                {
                    int o = (p * k.OH + i) * k.OW + j;
                    // count_include_pad: divisor is the window size (windows never pass the padded border here).
                    double divisor = k.KH * k.KW, s = 0;
                    for (int a = 0; a < k.KH; a++)
                    for (int b = 0; b < k.KW; b++)
                    {
                        int ih = i * k.SH - k.PH + a, iw = j * k.SW - k.PW + b;
                        if (ih < 0 || ih >= k.H || iw < 0 || iw >= k.W) continue;
                        s += xs[p * k.H * k.W + ih * k.W + iw];
                        expectedDx[p * k.H * k.W + ih * k.W + iw] += dys[o] / divisor;
                    }
                    expected[o] = s / divisor;
                }
                double tol = dtype == DType.Float32 ? 1e-5 : 1e-13;
                Close.Assert(expected, y.ToDoubleArray(), tol, "avg pool");
                using var dy = Tensor.FromDoubles(dys, k.Y, dtype);
                using var dx = Ops.AvgPool2dBackward(dy, k.X, (k.KH, k.KW), (k.SH, k.SW), (k.PH, k.PW));
                Close.Assert(expectedDx, dx.ToDoubleArray(), tol, "avg pool backward");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void DefaultStrideIsKernelAndErrorsNameTheOp()
    {
        using var x = Tensor.FromArray<float>([1, 5, 2, 0, 3, 4, 7, 6, 9, 8, 1, 2, 0, 0, 3, 1], 1, 1, 4, 4);
        using var y = Ops.MaxPool2d(x, (2, 2), out var argmax);
        using var arg = argmax;
        Assert.Equal(new double[] { 5, 7, 9, 3 }, y.ToDoubleArray());
        Assert.Equal(new[] { 1, 6, 8, 14 }, argmax.ToArray<int>());
        var e = Assert.Throws<ArgumentException>(() => Ops.AvgPool2d(x, (2, 2), padding: (2, 0)));
        Assert.Contains("avg_pool2d", e.Message);
        using var flat = Tensor.Zeros(new Shape(4, 4));
        var s = Assert.Throws<TensorShapeException>(() => Ops.MaxPool2d(flat, (2, 2), out var unused));
        Assert.Contains("max_pool2d", s.Message);
    }
}
