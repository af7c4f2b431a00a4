using DiffTori.Engine;

namespace DiffTori.Engine.Tests;

public class TensorCoreTests
{
    private static Tensor Iota(params int[] shape)
    {
        var s = new Shape(shape);
        var v = new double[s.Length];
        for (int i = 0; i < v.Length; i++) v[i] = i;
        return Tensor.FromDoubles(v, s, DType.Float64);
    }

    [Fact]
    public void TransposeViewThenContiguousMatchesNaiveTranspose()
    {
        using var x = Iota(3, 5);
        using var t = x.Transpose(0, 1);
        Assert.False(t.IsContiguous);
        var dense = t.ToArray<double>();
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(j * 5 + i, dense[i * 3 + j]);
    }

    [Fact]
    public void NarrowSliceSelectAddressTheRightElements()
    {
        using var x = Iota(4, 6);
        Assert.Equal(new double[] { 8, 9, 10, 14, 15, 16 }, x.Narrow(0, 1, 2).Narrow(1, 2, 3).ToArray<double>());
        Assert.Equal(new double[] { 1, 3, 5 }, x.Select(0, 0).Slice(0, 1, 6, 2).ToArray<double>());
        Assert.Equal(new double[] { 5, 11, 17, 23 }, x.Select(1, -1).ToArray<double>());
    }

    [Fact]
    public void ExpandBroadcastsWithZeroStrideAndCopyMaterializes()
    {
        using var row = Iota(1, 3);
        using var e = row.Expand(new Shape(2, 3));
        Assert.Equal(0, e.Strides[0]);
        Assert.Equal(new double[] { 0, 1, 2, 0, 1, 2 }, e.ToArray<double>());
    }

    [Fact]
    public void ReshapeInfersMinusOneAndRejectsBadSizes()
    {
        using var x = Iota(2, 3, 4);
        using var r = x.Reshape(6, -1);
        Assert.Equal(new Shape(6, 4), r.Shape);
        var ex = Assert.Throws<TensorShapeException>(() => x.Reshape(5, -1));
        Assert.Contains("[2, 3, 4]", ex.Message);
    }

    [Fact]
    public void CastAndUnsqueezeSqueezeRoundTrip()
    {
        using var x = Iota(2, 3);
        using var f = x.Cast(DType.Float32);
        Assert.Equal(DType.Float32, f.DType);
        using var u = f.Unsqueeze(1);
        Assert.Equal(new Shape(2, 1, 3), u.Shape);
        Assert.Equal(new Shape(2, 3), u.Squeeze(1).Shape);
        Assert.Equal(x.ToDoubleArray(), u.ToDoubleArray());
    }

    [Fact]
    public void BroadcastShapesFollowsNumpyAndNamesTheOp()
    {
        Assert.Equal(new Shape(4, 2, 3), Broadcast.Shapes("add", new Shape(2, 1), new Shape(4, 1, 3)));
        var ex = Assert.Throws<TensorShapeException>(() => Broadcast.Shapes("add", new Shape(2, 3), new Shape(4, 3)));
        Assert.Contains("add", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4, 3]", ex.Message);
    }

    [Fact]
    public void DisposedStorageReturnsToThePoolAndIsReused()
    {
        const int length = 12345;
        var first = Tensor.Empty(new Shape(length));
        var array = first.CpuArray<float>();
        first.Dispose();
        using var second = Tensor.Empty(new Shape(length));
        Assert.Same(array, second.CpuArray<float>());
        Assert.Throws<ObjectDisposedException>(() => first.Storage);
    }

    [Fact]
    public void ViewsKeepStorageAliveAfterTheOwnerIsDisposed()
    {
        var x = Iota(10);
        var v = x.Narrow(0, 2, 3);
        x.Dispose();
        Assert.Equal(new double[] { 2, 3, 4 }, v.ToArray<double>());
        v.Dispose();
    }

    [Fact]
    public void PrettyPrintShowsValuesShapeAndDtype()
    {
        using var x = Iota(2, 2);
        Assert.Equal("tensor([[0, 1],\n        [2, 3]], shape=[2, 2], dtype=float64)", x.ToString());
    }

    [Fact]
    public void PhiloxMatchesTheReferenceKnownAnswer()
    {
        // Known-answer test from the Random123 distribution: philox4x32-10, counter 0, key 0.
        var b = Philox.Block(0, 0);
        Assert.Equal(0x6627e8d5u, b.X0);
        Assert.Equal(0xe169c58du, b.X1);
        Assert.Equal(0xbc57ac4cu, b.X2);
        Assert.Equal(0x9b00dbd8u, b.X3);
    }
}

public class ShapeIndexTests
{
    [Fact]
    public void IndexFromEndCountsAxesNotElements()
    {
        var s = new Shape(2, 3, 4);
        Assert.Equal(4, s[^1]);
        Assert.Equal(2, s[^3]);
    }
}
