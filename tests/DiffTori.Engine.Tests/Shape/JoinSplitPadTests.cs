using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class JoinSplitPadTests
{
    private static readonly Gen<Shape> SmallShape = Gens.Shape(minRank: 1, maxRank: 4, maxElements: 600, maxExtent: 17);

    /// <summary>A base shape, an axis, the per-tensor extents along it (0 allowed), a seed and a dtype.</summary>
    private static readonly Gen<(Shape Shape, int Axis, int[] Extents, int Seed, DType DType)> ConcatCase =
        from shape in SmallShape
        from axis in Gen.Choose(-shape.Rank, shape.Rank - 1)
        from count in Gen.Choose(1, 4)
        from extents in Gen.ArrayOf(Gen.Choose(0, 6), count)
        from seed in Gens.Seed
        from dtype in Gen.Elements(DType.Float64, DType.Float32, DType.Int32)
        select (shape, axis, extents, seed, dtype);

    [Fact]
    public void ConcatMatchesNaiveIndexMath() => PropCheck.Run(ConcatCase, c =>
    {
        int axis = c.Axis < 0 ? c.Axis + c.Shape.Rank : c.Axis;
        var parts = c.Extents.Select((e, t) =>
        {
            var s = c.Shape.With(axis, e);
            return Tensor.FromDoubles(Gens.Data(s, c.Seed + t, -50, 50).Select(v => Math.Round(v)).ToArray(), s, c.DType);
        }).ToArray();
        // One input as a strided (transposed twice -> same shape, non-contiguous) view exercises any-stride copies.
        if (parts[0].Rank >= 2 && parts[0].Shape[0] > 1 && parts[0].Shape[1] > 1)
        {
            using var dense = parts[0].Transpose(0, 1).Contiguous();
            var strided = dense.Transpose(0, 1);
            parts[0].Dispose();
            parts[0] = strided;
        }
        using var result = Ops.Concat(parts, c.Axis);
        var dims = result.Shape.ToArray();
        Assert.Equal(c.Extents.Sum(), dims[axis]);
        var actual = result.ToDoubleArray();
        var sources = parts.Select(p => p.ToDoubleArray()).ToArray();
        for (int f = 0; f < actual.Length; f++)
        {
            var index = IndexMath.Unravel(f, dims);
            int t = 0, at = index[axis];
            while (at >= c.Extents[t]) at -= c.Extents[t++];
            index[axis] = at;
            Assert.Equal(sources[t][IndexMath.Ravel(index, parts[t].Shape.ToArray())], actual[f]);
        }
        foreach (var p in parts) p.Dispose();
    });

    [Fact]
    public void StackMatchesNaiveIndexMath() => PropCheck.Run(
        from shape in Gens.Shape(0, 3, 400, 13)
        from axis in Gen.Choose(0, shape.Rank)
        from count in Gen.Choose(1, 4)
        from seed in Gens.Seed
        select (shape, axis, count, seed),
        c =>
        {
            var parts = Enumerable.Range(0, c.count).Select(t => Gens.Tensor(c.shape, c.seed + t)).ToArray();
            using var result = Ops.Stack(parts, c.axis);
            Assert.Equal(c.shape.Insert(c.axis, c.count), result.Shape);
            var dims = result.Shape.ToArray();
            var actual = result.ToDoubleArray();
            var sources = parts.Select(p => p.ToDoubleArray()).ToArray();
            for (int f = 0; f < actual.Length; f++)
            {
                var index = IndexMath.Unravel(f, dims).ToList();
                int t = index[c.axis];
                index.RemoveAt(c.axis);
                Assert.Equal(sources[t][IndexMath.Ravel(index.ToArray(), c.shape.ToArray())], actual[f]);
            }
            foreach (var p in parts) p.Dispose();
        });

    [Fact]
    public void SplitGivesViewsThatConcatBackToTheInput() => PropCheck.Run(
        from shape in SmallShape
        from axis in Gen.Choose(0, shape.Rank - 1)
        from cuts in Gen.ArrayOf(Gen.Choose(0, shape[axis]), 3)
        from seed in Gens.Seed
        select (shape, axis, cuts, seed),
        c =>
        {
            var bounds = c.cuts.Append(0).Append(c.shape[c.axis]).Order().ToArray();
            var sizes = bounds.Zip(bounds.Skip(1), (a, b) => b - a).ToArray();
            using var x = Gens.Tensor(c.shape, c.seed);
            var pieces = Ops.Split(x, c.axis, sizes);
            Assert.Equal(sizes.Length, pieces.Length);
            var xs = x.ToDoubleArray();
            int start = 0;
            for (int p = 0; p < pieces.Length; p++)
            {
                Assert.Same(x.Storage, pieces[p].Storage);                // a view, not a copy
                Assert.Equal(c.shape.With(c.axis, sizes[p]), pieces[p].Shape);
                var values = pieces[p].ToDoubleArray();
                var dims = pieces[p].Shape.ToArray();
                for (int f = 0; f < values.Length; f++)
                {
                    var index = IndexMath.Unravel(f, dims);
                    index[c.axis] += start;
                    Assert.Equal(xs[IndexMath.Ravel(index, c.shape.ToArray())], values[f]);
                }
                start += sizes[p];
            }
            using var joined = Ops.Concat(pieces, c.axis);
            Assert.Equal(xs, joined.ToDoubleArray());
            foreach (var p in pieces) p.Dispose();
        });

    [Fact]
    public void ChunkFollowsTorchChunkSizes() => PropCheck.Run(
        from n in Gen.Choose(0, 40)
        from count in Gen.Choose(1, 9)
        select (n, count),
        c =>
        {
            using var x = Tensor.Arange(c.n, DType.Float64).Reshape(1, c.n);
            var chunks = Ops.Chunk(x, c.count, 1);
            int size = c.n == 0 ? 0 : (c.n + c.count - 1) / c.count;
            // torch.chunk: pieces of ceil(n / count), the last one holding the remainder.
            int expectedPieces = c.n == 0 ? c.count : (c.n + size - 1) / size;
            Assert.Equal(expectedPieces, chunks.Length);
            Assert.True(chunks.Length <= c.count);
            var all = chunks.SelectMany(ch => ch.ToDoubleArray()).ToArray();
            Assert.Equal(Enumerable.Range(0, c.n).Select(i => (double)i), all);
            for (int i = 0; i < chunks.Length - 1; i++) Assert.Equal(size, chunks[i].Shape[1]);
            foreach (var ch in chunks) { Assert.Same(x.Storage, ch.Storage); ch.Dispose(); }
        });

    [Fact]
    public void PadMatchesNaiveIndexMath() => PropCheck.Run(
        from shape in Gens.Shape(1, 4, 300, 9)
        from axes in Gen.Choose(0, shape.Rank)
        from padding in Gen.ArrayOf(Gen.Choose(0, 3), 2 * axes)
        from value in Gen.Elements(0.0, -1.5, 7.0)
        from seed in Gens.Seed
        select (shape, padding, value, seed),
        c =>
        {
            using var x = Gens.Tensor(c.shape, c.seed);
            using var y = Ops.Pad(x, c.padding, c.value);
            var dims = y.Shape.ToArray();
            var xs = x.ToDoubleArray();
            var actual = y.ToDoubleArray();
            for (int f = 0; f < actual.Length; f++)
            {
                var index = IndexMath.Unravel(f, dims);
                bool inside = true;
                for (int p = 0; p < c.padding.Length / 2; p++)
                {
                    int axis = c.shape.Rank - 1 - p;
                    index[axis] -= c.padding[2 * p];
                    inside &= index[axis] >= 0 && index[axis] < c.shape[axis];
                }
                Assert.Equal(inside ? xs[IndexMath.Ravel(index, c.shape.ToArray())] : c.value, actual[f]);
            }
        });

    [Fact]
    public void PadOrderIsLastAxisFirstLikeTorch()
    {
        using var x = Tensor.FromDoubles([1, 2, 3, 4], new Shape(2, 2), DType.Float64);
        // F.pad(x, (1, 0, 0, 1)): one column on the left, one row at the bottom.
        using var y = Ops.Pad(x, [1, 0, 0, 1], 9);
        Assert.Equal(new Shape(3, 3), y.Shape);
        Assert.Equal([9, 1, 2, 9, 3, 4, 9, 9, 9], y.ToDoubleArray());
    }

    [Fact]
    public void BadInputsGiveErrorsNamingOpAxisAndShapes()
    {
        using var a = Tensor.Zeros(new Shape(2, 3));
        using var b = Tensor.Zeros(new Shape(4, 5));
        using var c = Tensor.Zeros(new Shape(2, 3), DType.Float64);
        var e1 = Assert.Throws<TensorShapeException>(() => Ops.Concat([a, b], 0));
        Assert.Contains("concat", e1.Message);
        Assert.Contains("axis 0", e1.Message);
        Assert.Contains("[2, 3]", e1.Message);
        Assert.Contains("[4, 5]", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Ops.Concat([a, c], 1));
        Assert.Contains("float64", e2.Message);
        Assert.Contains("float32", e2.Message);
        Assert.Contains("axis 1", e2.Message);
        var e3 = Assert.Throws<TensorShapeException>(() => Ops.Stack([a, b], 1));
        Assert.Contains("stack", e3.Message);
        var e4 = Assert.Throws<TensorShapeException>(() => Ops.Split(a, 1, [1, 1]));
        Assert.Contains("split", e4.Message);
        Assert.Contains("[2, 3]", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => Ops.Pad(a, [1, -1]));
        Assert.Contains("negative", e5.Message);
        Assert.Throws<ArgumentException>(() => Ops.Pad(a, [1, 1, 1, 1, 1, 1]));
    }
}
