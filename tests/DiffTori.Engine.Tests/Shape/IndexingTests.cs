using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class IndexingTests
{
    private static readonly Gen<(Shape Shape, int Axis, int K, int Seed, DType DType)> IndexCase =
        from shape in Gens.Shape(minRank: 1, maxRank: 4, maxElements: 800, maxExtent: 17)
        from axis in Gen.Choose(0, shape.Rank - 1)
        from k in Gen.Choose(0, 9)
        from seed in Gens.Seed
        from dtype in Gen.Elements(DType.Float64, DType.Float32)
        select (shape, axis, k, seed, dtype);

    private static Tensor IndexTensor(int[] values, Shape shape) => Tensor.FromArray<int>(values, shape);

    [Fact]
    public void IndexSelectAndIndexAddMatchNaiveLoopsAndAreAdjoint() => PropCheck.Run(IndexCase, c =>
    {
        var dims = c.Shape.ToArray();
        var idx = IndexMath.Indices(c.K, dims[c.Axis], c.Seed);
        using var x = Gens.Tensor(c.Shape, c.Seed, c.DType);
        using var index = IndexTensor(idx, new Shape(c.K));
        using var y = Ops.IndexSelect(x, c.Axis, index);
        var outDims = (int[])dims.Clone();
        outDims[c.Axis] = c.K;
        Assert.Equal(new Shape(outDims), y.Shape);

        var xs = x.ToDoubleArray();
        var ys = y.ToDoubleArray();
        for (int f = 0; f < ys.Length; f++)
        {
            var at = IndexMath.Unravel(f, outDims);
            at[c.Axis] = idx[at[c.Axis]];
            Assert.Equal(xs[IndexMath.Ravel(at, dims)], ys[f]);
        }

        // IndexAdd vs a naive accumulation (duplicate indices add up).
        using var w = Gens.Tensor(y.Shape, c.Seed + 1, c.DType);
        using var added = Ops.IndexAdd(c.Shape, c.Axis, index, w);
        var ws = w.ToDoubleArray();
        var expected = new double[xs.Length];
        for (int f = 0; f < ws.Length; f++)
        {
            var at = IndexMath.Unravel(f, outDims);
            at[c.Axis] = idx[at[c.Axis]];
            expected[IndexMath.Ravel(at, dims)] += ws[f];
        }
        Close.Assert(expected, added.ToDoubleArray(), Close.For(c.DType) * 10, "index_add");

        // Adjoint: <IndexSelect(x), w> = <x, IndexAdd(w)>.
        Assert.Equal(IndexMath.Dot(ys, ws), IndexMath.Dot(xs, added.ToDoubleArray()), c.DType == DType.Float32 ? 1e-3 : 1e-9);
    });

    [Fact]
    public void GatherAndScatterAddMatchNaiveLoopsAndAreAdjoint() => PropCheck.Run(IndexCase, c =>
    {
        var dims = c.Shape.ToArray();
        var indexDims = (int[])dims.Clone();
        indexDims[c.Axis] = c.K;
        var indexShape = new Shape(indexDims);
        var idx = IndexMath.Indices(indexShape.Length, dims[c.Axis], c.Seed);
        using var x = Gens.Tensor(c.Shape, c.Seed, c.DType);
        using var index = IndexTensor(idx, indexShape);
        using var y = Ops.Gather(x, c.Axis, index);
        Assert.Equal(indexShape, y.Shape);

        var xs = x.ToDoubleArray();
        var ys = y.ToDoubleArray();
        for (int f = 0; f < ys.Length; f++)
        {
            var at = IndexMath.Unravel(f, indexDims);
            at[c.Axis] = idx[f];
            Assert.Equal(xs[IndexMath.Ravel(at, dims)], ys[f]);
        }

        using var w = Gens.Tensor(indexShape, c.Seed + 1, c.DType);
        using var scattered = Ops.ScatterAdd(c.Shape, c.Axis, index, w);
        var ws = w.ToDoubleArray();
        var expected = new double[xs.Length];
        for (int f = 0; f < ws.Length; f++)
        {
            var at = IndexMath.Unravel(f, indexDims);
            at[c.Axis] = idx[f];
            expected[IndexMath.Ravel(at, dims)] += ws[f];
        }
        Close.Assert(expected, scattered.ToDoubleArray(), Close.For(c.DType) * 10, "scatter_add");

        // Adjoint: <Gather(x), w> = <x, ScatterAdd(w)>.
        Assert.Equal(IndexMath.Dot(ys, ws), IndexMath.Dot(xs, scattered.ToDoubleArray()), c.DType == DType.Float32 ? 1e-3 : 1e-9);
    });

    [Fact]
    public void StridedInputsAndInt32DataAreHandled()
    {
        using var dense = Tensor.FromArray<int>(Enumerable.Range(0, 12).ToArray(), new Shape(3, 4));
        using var x = dense.Transpose(0, 1);                       // [4, 3], x[i, j] = 4j + i
        using var index = Tensor.FromArray<int>([2, 0, 2], new Shape(3));
        using var y = Ops.IndexSelect(x, 1, index);
        Assert.Equal([8, 0, 8, 9, 1, 9, 10, 2, 10, 11, 3, 11], y.ToArray<int>());
    }

    [Fact]
    public void LargeOuterRunsInParallelWithTheSameResult()
    {
        // outer·k·inner above the parallel threshold: compare with the naive loop.
        var shape = new Shape(600, 7, 40);
        using var x = Gens.Tensor(shape, 3);
        var idx = IndexMath.Indices(600 * 5 * 40, 7, 4);
        using var index = Tensor.FromArray<int>(idx, new Shape(600, 5, 40));
        using var y = Ops.Gather(x, 1, index);
        var xs = x.ToDoubleArray();
        var ys = y.ToDoubleArray();
        for (int f = 0; f < ys.Length; f += 97)
        {
            int o = f / 200, i = f % 40;
            Assert.Equal(xs[(o * 7 + idx[f]) * 40 + i], ys[f]);
        }
    }

    [Fact]
    public void OutOfRangeIndicesNameOpValueAndExtent()
    {
        using var x = Tensor.Zeros(new Shape(3, 5));
        using var bad = Tensor.FromArray<int>([0, 7], new Shape(2));
        var e1 = Assert.Throws<IndexOutOfRangeException>(() => Ops.IndexSelect(x, 1, bad));
        Assert.Contains("index_select", e1.Message);
        Assert.Contains("7", e1.Message);
        Assert.Contains("extent 5", e1.Message);
        using var negative = Tensor.FromArray<int>([-1, 0, 0, 0, 0, 0], new Shape(3, 2));
        var e2 = Assert.Throws<IndexOutOfRangeException>(() => Ops.Gather(x, 1, negative));
        Assert.Contains("gather", e2.Message);
        Assert.Contains("-1", e2.Message);
        using var src = Tensor.Zeros(new Shape(2, 5));
        using var high = Tensor.FromArray<int>([0, 3], new Shape(2));
        var e3 = Assert.Throws<IndexOutOfRangeException>(() => Ops.IndexAdd(new Shape(3, 5), 0, high, src));
        Assert.Contains("index_add", e3.Message);
        Assert.Contains("extent 3", e3.Message);
        using var scatterIndex = Tensor.FromArray<int>([0, 0, 0, 0, 9, 0], new Shape(3, 2));
        using var scatterSrc = Tensor.Zeros(new Shape(3, 2));
        var e4 = Assert.Throws<IndexOutOfRangeException>(() => Ops.ScatterAdd(new Shape(3, 5), 1, scatterIndex, scatterSrc));
        Assert.Contains("scatter_add", e4.Message);
        Assert.Contains("9", e4.Message);

        // The CPU kernel checks too, for callers that skip the front-end.
        using var y = Tensor.Zeros(new Shape(3, 2));
        var e5 = Assert.Throws<IndexOutOfRangeException>(() => Device.Cpu.Backend.IndexSelect(x, 3, 5, 1, bad, y));
        Assert.Contains("7", e5.Message);
    }

    [Fact]
    public void WrongIndexDTypeOrShapeIsRejected()
    {
        using var x = Tensor.Zeros(new Shape(3, 5));
        using var floatIndex = Tensor.Zeros(new Shape(2));
        Assert.Contains("int32", Assert.Throws<ArgumentException>(() => Ops.IndexSelect(x, 0, floatIndex)).Message);
        using var index = Tensor.FromArray<int>([0, 1, 2, 0], new Shape(2, 2));
        var e = Assert.Throws<TensorShapeException>(() => Ops.Gather(x, 1, index));
        Assert.Contains("gather", e.Message);
        Assert.Contains("[3, 5]", e.Message);
        Assert.Contains("[2, 2]", e.Message);
    }
}
