using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class NormTests
{
    /// <summary>Naive normalization of consecutive rows of length n: (x − mean)/sqrt(var + eps), population variance.</summary>
    private static (double[] Y, double[] Mean, double[] Rstd) NaiveRows(double[] x, int n, double eps)
    {
        int rows = n == 0 ? 0 : x.Length / n;
        var y = new double[x.Length];
        var mean = new double[rows];
        var rstd = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double m = 0, v = 0;
            for (int j = 0; j < n; j++) m += x[r * n + j];
            m /= n;
            for (int j = 0; j < n; j++) v += (x[r * n + j] - m) * (x[r * n + j] - m);
            v /= n;
            mean[r] = m;
            rstd[r] = 1 / Math.Sqrt(v + eps);
            for (int j = 0; j < n; j++) y[r * n + j] = (x[r * n + j] - m) * rstd[r];
        }
        return (y, mean, rstd);
    }

    [Fact]
    public void LayerNormMatchesNaiveWithAndWithoutAffine()
    {
        var gen = from shape in Gens.Shape(1, 4, 3000)
                  from axesChoice in Gen.Choose(1, 4)
                  from seed in Gens.Seed
                  from dtype in Gen.Elements(DType.Float32, DType.Float64)
                  from affine in Gen.Choose(0, 3)
                  from strided in Gen.Elements(false, true)
                  select (shape, axes: Math.Min(axesChoice, shape.Rank), seed, dtype, affine, strided);
        ElemProps.Check(gen, c =>
        {
            const double eps = 1e-5;
            var values = Gens.Data(c.shape, c.seed, -3, 5);
            using var x = c.strided ? ElemRef.Strided(c.shape, values, c.dtype, false) : Tensor.FromDoubles(values, c.shape, c.dtype);
            var dims = c.shape.ToArray();
            var normShape = new Shape(dims[^c.axes..]);
            var leadShape = new Shape(dims[..^c.axes]);
            using var weight = (c.affine & 1) != 0 ? Gens.Tensor(normShape, c.seed + 1, c.dtype) : null;
            using var bias = (c.affine & 2) != 0 ? Gens.Tensor(normShape, c.seed + 2, c.dtype) : null;
            using var y = Ops.LayerNorm(x, c.axes, weight, bias, eps, out var mean, out var rstd);
            using (mean)
            using (rstd)
            {
                Assert.Equal(c.shape, y.Shape);
                Assert.Equal(leadShape, mean.Shape);
                Assert.Equal(leadShape, rstd.Shape);
                int n = normShape.Length;
                var (ey, em, er) = NaiveRows(x.ToDoubleArray(), n, eps);
                var w = weight?.ToDoubleArray();
                var b = bias?.ToDoubleArray();
                for (int i = 0; i < ey.Length; i++) ey[i] = ey[i] * (w?[i % n] ?? 1) + (b?[i % n] ?? 0);
                double tol = c.dtype == DType.Float32 ? 1e-4 : 1e-10;
                Close.Assert(ey, y.ToDoubleArray(), tol, "y");
                Close.Assert(em, mean.ToDoubleArray(), tol, "mean");
                Close.Assert(er, rstd.ToDoubleArray(), tol, "rstd");
            }
        }, 50);
    }

    [Fact]
    public void GroupNormMatchesNaiveIncludingMeanAndRstd()
    {
        var gen = from batch in Gen.Choose(1, 4)
                  from groups in Gen.Elements(1, 2, 3)
                  from perGroup in Gen.Elements(1, 2, 5)
                  from spatial in Gen.Choose(0, 2)
                  from h in Gen.Elements(1, 3, 7, 16)
                  from w in Gen.Elements(1, 5, 17)
                  from seed in Gens.Seed
                  from dtype in Gen.Elements(DType.Float32, DType.Float64)
                  from affine in Gen.Elements(false, true)
                  select (batch, groups, channels: groups * perGroup, spatial, h, w, seed, dtype, affine);
        ElemProps.Check(gen, c =>
        {
            const double eps = 1e-5;
            int[] dims = c.spatial switch { 0 => [c.batch, c.channels], 1 => [c.batch, c.channels, c.h], _ => [c.batch, c.channels, c.h, c.w] };
            var shape = new Shape(dims);
            using var x = Gens.Tensor(shape, c.seed, c.dtype, -2, 6);
            using var weight = c.affine ? Gens.Tensor(new Shape(c.channels), c.seed + 1, c.dtype) : null;
            using var bias = c.affine ? Gens.Tensor(new Shape(c.channels), c.seed + 2, c.dtype) : null;
            using var y = Ops.GroupNorm(x, c.groups, weight, bias, eps, out var mean, out var rstd);
            using (mean)
            using (rstd)
            {
                Assert.Equal(new Shape(c.batch, c.groups), mean.Shape);
                int rest = shape.Length / (c.batch * c.channels);
                var (ey, em, er) = NaiveRows(x.ToDoubleArray(), c.channels / c.groups * rest, eps);
                if (c.affine)
                {
                    var wv = weight!.ToDoubleArray();
                    var bv = bias!.ToDoubleArray();
                    for (int i = 0; i < ey.Length; i++)
                    {
                        int channel = i / rest % c.channels;
                        ey[i] = ey[i] * wv[channel] + bv[channel];
                    }
                }
                double tol = c.dtype == DType.Float32 ? 1e-4 : 1e-10;
                Close.Assert(ey, y.ToDoubleArray(), tol, "y");
                Close.Assert(em, mean.ToDoubleArray(), tol, "mean");
                Close.Assert(er, rstd.ToDoubleArray(), tol, "rstd");
            }
        }, 40);
    }

    [Fact]
    public void ShortOverloadsNormalizeTheLastAxisAndLargeInputsMatch()
    {
        var shape = new Shape(300, 257); // > 64K elements: parallel rows
        using var x = Gens.Tensor(shape, 11);
        using var weight = Gens.Tensor(new Shape(257), 12);
        using var y = Ops.LayerNorm(x, weight, null);
        var (ey, _, _) = NaiveRows(x.ToDoubleArray(), 257, 1e-5);
        var wv = weight.ToDoubleArray();
        for (int i = 0; i < ey.Length; i++) ey[i] *= wv[i % 257];
        Close.Assert(ey, y.ToDoubleArray(), 1e-10);

        using var img = Gens.Tensor(new Shape(2, 4, 3, 3), 13);
        using var g = Ops.GroupNorm(img, 2, null, null);
        var (eg, _, _) = NaiveRows(img.ToDoubleArray(), 18, 1e-5);
        Close.Assert(eg, g.ToDoubleArray(), 1e-10);
    }

    [Fact]
    public void NormErrorsNameTheOpAndShapes()
    {
        using var x = Tensor.Zeros(new Shape(2, 6, 4));
        using var w = Tensor.Ones(new Shape(5));
        var e = Assert.Throws<TensorShapeException>(() => Ops.LayerNorm(x, w, null));
        Assert.Contains("layer_norm", e.Message);
        Assert.Contains("[5]", e.Message);
        Assert.Contains("[2, 6, 4]", e.Message);
        var g = Assert.Throws<TensorShapeException>(() => Ops.GroupNorm(x, 4, null, null));
        Assert.Contains("group_norm", g.Message);
        Assert.Contains("[2, 6, 4]", g.Message);
        Assert.Contains("layer_norm", Assert.Throws<TensorShapeException>(() => Ops.LayerNorm(x, 4, null, null, 1e-5, out _, out _)).Message);
    }
}
