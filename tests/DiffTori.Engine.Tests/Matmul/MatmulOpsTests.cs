using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Matmul;

/// <summary>Ops.Matmul / Linear: numpy.matmul semantics, views, errors and the allocation-free result overload.</summary>
public class MatmulOpsTests
{
    /// <summary>numpy.matmul reference on float64 arrays (with broadcasting of the batch axes).</summary>
    private static (double[] Values, Shape Shape) NaiveMatmul(Tensor a, Tensor b)
    {
        var av = a.ToDoubleArray();
        var bv = b.ToDoubleArray();
        var sa = a.Shape.ToArray().ToList();
        var sb = b.Shape.ToArray().ToList();
        bool va = sa.Count == 1, vb = sb.Count == 1;
        if (va) sa.Insert(0, 1);
        if (vb) sb.Add(1);
        int m = sa[^2], k = sa[^1], n = sb[^1];
        var batch = Broadcast.Shapes("test", new Shape(sa.Take(sa.Count - 2).ToArray()), new Shape(sb.Take(sb.Count - 2).ToArray()));
        var bA = new Shape(sa.Take(sa.Count - 2).ToArray());
        var bB = new Shape(sb.Take(sb.Count - 2).ToArray());
        var result = new double[batch.Length * m * n];
        var index = new int[batch.Rank];
        for (int t = 0; t < batch.Length; t++)
        {
            int rem = t;
            for (int d = batch.Rank - 1; d >= 0; d--) { index[d] = rem % batch[d]; rem /= batch[d]; }
            int oa = Flat(bA, index) * m * k, ob = Flat(bB, index) * k * n;
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += av[oa + i * k + p] * bv[ob + p * n + j];
                result[(t * m + i) * n + j] = s;
            }
        }
        var dims = batch.ToArray().ToList();
        if (!va) dims.Add(m);
        if (!vb) dims.Add(n);
        return (result, new Shape(dims.ToArray()));
    }

    private static int Flat(Shape shape, int[] index)
    {
        int lead = index.Length - shape.Rank, flat = 0;
        for (int d = 0; d < shape.Rank; d++) flat = flat * shape[d] + (shape[d] == 1 ? 0 : index[lead + d]);
        return flat;
    }

    [Fact]
    public void BroadcastingAndVectorPromotionMatchNumpy()
    {
        var gen = from m in Gens.Extent(40) from n in Gens.Extent(40) from k in Gens.Extent(40)
                  from batchA in Gen.Elements(new int[0], [3], [1], [2, 3], [2, 1])
                  from batchB in Gen.Elements(new int[0], [3], [1], [1, 3], [2, 3])
                  from vecA in Gen.Elements(false, false, true) from vecB in Gen.Elements(false, false, true)
                  from seed in Gens.Seed
                  select (m, n, k, batchA, batchB, vecA, vecB, seed);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var sa = x.vecA ? new Shape(x.k) : new Shape([.. x.batchA, x.m, x.k]);
            var sb = x.vecB ? new Shape(x.k) : new Shape([.. x.batchB, x.k, x.n]);
            using var a = Gens.Tensor(sa, x.seed);
            using var b = Gens.Tensor(sb, x.seed + 1);
            var (expected, shape) = NaiveMatmul(a, b);
            using var c = Ops.Matmul(a, b);
            Assert.Equal(shape, c.Shape);
            Close.Assert(expected, c.ToDoubleArray(), 1e-12, $"matmul {sa} @ {sb}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void TransposeFlagsAndTransposedViewsAgree()
    {
        using var a = Gens.Tensor(new Shape(2, 13, 7), 1);
        using var b = Gens.Tensor(new Shape(2, 9, 13), 2);
        var (expected, _) = NaiveMatmul(a.MT.Contiguous(), b.MT.Contiguous());
        using var viaFlags = Ops.Matmul(a, b, transA: true, transB: true);
        using var at = a.MT;
        using var bt = b.MT;
        using var viaViews = Ops.Matmul(at, bt);
        Close.Assert(expected, viaFlags.ToDoubleArray(), 1e-12, "flags");
        Close.Assert(expected, viaViews.ToDoubleArray(), 1e-12, "views");
        // A strided (non-matrix) view is copied and still right.
        using var sliced = a.Slice(2, 0, 7, 2);
        using var s = Ops.Matmul(sliced, Gens.Tensor(new Shape(4, 3), 3));
        var (e2, _) = NaiveMatmul(sliced.Contiguous(), Gens.Tensor(new Shape(4, 3), 3));
        Close.Assert(e2, s.ToDoubleArray(), 1e-12, "strided view");
    }

    [Fact]
    public void MismatchNamesOpAndShapes()
    {
        using var a = Tensor.Zeros(new Shape(2, 3));
        using var b = Tensor.Zeros(new Shape(4, 5));
        var e = Assert.Throws<TensorShapeException>(() => Ops.Matmul(a, b));
        Assert.Contains("matmul", e.Message);
        Assert.Contains("[2, 3]", e.Message.Replace("(", "[").Replace(")", "]").Replace("[2,3]", "[2, 3]"));
        Assert.Contains("3", e.Message);
        Assert.Contains("4", e.Message);
        using var c = Tensor.Zeros(new Shape(2, 2, 3));
        using var d = Tensor.Zeros(new Shape(3, 3, 5));
        Assert.Throws<TensorShapeException>(() => Ops.Matmul(c, d));
    }

    [Fact]
    public void ResultOverloadAccumulatesAndAllocatesNothing()
    {
        using var a = Gens.Tensor(new Shape(16, 24), 1, DType.Float32);
        using var b = Gens.Tensor(new Shape(20, 24), 2, DType.Float32);
        using var c = Gens.Tensor(new Shape(16, 20), 3, DType.Float32);
        var c0 = c.ToDoubleArray();
        Ops.Matmul(a, b, c, transB: true, alpha: 2, beta: 0.5);
        var expected = GemmTests.Naive(a.ToDoubleArray(), b.ToDoubleArray(), c0, 1, 16, 20, 24, false, true, 2, 0.5, 0, 0);
        Close.Assert(expected, c.ToDoubleArray(), 1e-5, "alpha/beta");

        using var x = Gens.Tensor(new Shape(1, 56), 4, DType.Float32);
        using var w = Gens.Tensor(new Shape(56, 64), 5, DType.Float32);
        using var y = Tensor.Empty(new Shape(1, 64));
        for (int i = 0; i < 200; i++) { Ops.Matmul(a, b, c, transB: true); Ops.Matmul(x, w, y); }
        Assert.Equal(0, SteadyStateAllocation.AllocatedBy(() => { Ops.Matmul(a, b, c, transB: true); Ops.Matmul(x, w, y); }, calls: 100));
    }

    [Fact]
    public void LinearIsXWTransposedPlusBias()
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            using var x = Gens.Tensor(new Shape(2, 5, 33), 1, dtype);
            using var w = Gens.Tensor(new Shape(17, 33), 2, dtype);
            using var bias = Gens.Tensor(new Shape(17), 3, dtype);
            using var y = Ops.Linear(x, w, bias);
            Assert.Equal(new Shape(2, 5, 17), y.Shape);
            var xv = x.ToDoubleArray(); var wv = w.ToDoubleArray(); var bv = bias.ToDoubleArray();
            var expected = new double[2 * 5 * 17];
            for (int r = 0; r < 10; r++)
            for (int o = 0; o < 17; o++)
            {
                double s = bv[o];
                for (int i = 0; i < 33; i++) s += xv[r * 33 + i] * wv[o * 33 + i];
                expected[r * 17 + o] = s;
            }
            Close.Assert(expected, y.ToDoubleArray(), dtype == DType.Float32 ? 1e-5 : 1e-12, "linear");
            using var noBias = Ops.Linear(x.Select(0, 1).Select(0, 2), w, null);
            for (int o = 0; o < 17; o++) Assert.Equal(expected[7 * 17 + o] - bv[o], noBias.ToDoubleArray()[o], dtype == DType.Float32 ? 1e-4 : 1e-12);
        }
        using var bad = Tensor.Zeros(new Shape(4, 3));
        var e = Assert.Throws<TensorShapeException>(() => Ops.Linear(bad, Tensor.Zeros(new Shape(2, 5)), null));
        Assert.Contains("linear", e.Message);
    }
}
