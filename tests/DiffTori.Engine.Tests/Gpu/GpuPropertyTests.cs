using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Gpu;

/// <summary>FsCheck properties of the strided/broadcast elementwise path on small awkward shapes.</summary>
public class GpuPropertyTests
{
    /// <summary>Element i (row-major over target) of t read through broadcast strides, by index math.</summary>
    private static double Broadcasted(double[] values, Shape shape, Shape target, int i)
    {
        int lead = target.Rank - shape.Rank, at = 0, stride = 1, rest = i;
        for (int axis = target.Rank - 1; axis >= 0; axis--)
        {
            int coordinate = rest % target[axis];
            rest /= target[axis];
            if (axis < lead) continue;
            int extent = shape[axis - lead];
            if (extent != 1) at += coordinate * stride;
            stride *= extent;
        }
        return values[at];
    }

    [Fact]
    public void BinaryOnBroadcastPairsMatchesIndexMath()
    {
        var cases =
            from pair in Gens.BroadcastablePair(maxRank: 4, maxElements: 300)
            from seed in Gens.Seed
            from op in Gen.Elements(BinaryOp.Add, BinaryOp.Mul, BinaryOp.Max, BinaryOp.Less)
            select (pair.A, pair.B, seed, op);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var target = Broadcast.Shapes("test", c.A, c.B);
            var av = Gens.Data(c.A, c.seed);
            var bv = Gens.Data(c.B, c.seed + 1);
            using var a = Sim.FromDoubles(av, c.A);
            using var b = Sim.FromDoubles(bv, c.B);
            using var y = Tensor.Empty(target, DType.Float64, Sim.Device);
            y.Device.Backend.Binary(c.op, a, b, y);
            var expected = new double[target.Length];
            for (int i = 0; i < expected.Length; i++)
            {
                double p = Broadcasted(av, c.A, target, i), q = Broadcasted(bv, c.B, target, i);
                expected[i] = c.op switch
                {
                    BinaryOp.Add => p + q,
                    BinaryOp.Mul => p * q,
                    BinaryOp.Max => Math.Max(p, q),
                    _ => p < q ? 1 : 0,
                };
            }
            Close.Assert(expected, y.ToDoubleArray(), 1e-12, $"{c.op} {c.A} {c.B}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
    }

    [Fact]
    public void CopyOfAPermutedViewMatchesIndexMath()
    {
        var cases =
            from shape in Gens.Shape(minRank: 2, maxRank: 4, maxElements: 300, maxExtent: 9)
            from seed in Gens.Seed
            select (shape, seed);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var values = Gens.Data(c.shape, c.seed);
            using var x = Sim.FromDoubles(values, c.shape, DType.Float32);
            // Reverse the axes: a fully strided view.
            var order = Enumerable.Range(0, c.shape.Rank).Reverse().ToArray();
            using var view = x.Permute(order);
            using var y = Tensor.Empty(view.Shape, DType.Float64, Sim.Device);
            y.Device.Backend.Copy(view, y);
            var got = y.ToDoubleArray();
            var dims = c.shape.ToArray();
            for (int i = 0; i < got.Length; i++)
            {
                // i indexes the reversed shape; map its coordinates back to x's row-major index.
                int rest = i, source = 0;
                for (int axis = 0; axis < dims.Length; axis++)
                {
                    int coordinate = rest % dims[axis];   // innermost reversed axis is x's axis 0
                    rest /= dims[axis];
                    source += coordinate * ShapeStride(dims, axis);
                }
                Assert.Equal((double)(float)values[source], got[i]);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
    }

    private static int ShapeStride(int[] dims, int axis)
    {
        int s = 1;
        for (int k = axis + 1; k < dims.Length; k++) s *= dims[k];
        return s;
    }
}
