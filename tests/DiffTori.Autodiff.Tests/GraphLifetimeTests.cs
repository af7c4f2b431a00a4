using DiffTori.Engine;
using static DiffTori.Autodiff.Tests.TestData;

namespace DiffTori.Autodiff.Tests;

/// <summary>No-grad scopes, retained and released graphs, accumulation, detach, hooks, error messages.</summary>
public class GraphLifetimeTests
{
    [Fact]
    public void NoGradRecordsNothingAndScopesNest()
    {
        var x = Leaf([1, 2], 2);
        Assert.True(Autograd.IsGradEnabled);
        using (Autograd.NoGrad())
        {
            var y = F.Exp(x) * x;
            Assert.Null(y.Node);
            Assert.False(y.RequiresGrad);
            using (Autograd.NoGrad()) Assert.False(Autograd.IsGradEnabled);
            Assert.False(Autograd.IsGradEnabled);
            using (Autograd.EnableGrad()) Assert.NotNull((x * 2).Node);
        }
        Assert.True(Autograd.IsGradEnabled);
        Assert.NotNull((x * 2).Node);
    }

    [Fact]
    public void BackwardReleasesTheGraphUnlessRetained()
    {
        var x = Leaf([0.5, 1.5], 2);
        var h = F.LayerNorm(F.Reshape(x, 1, 2), null, null);
        var loss = F.Sum(F.Square(h) * F.Exp(x));
        loss.Backward(retainGraph: true);
        var first = x.Grad!.Value.ToDoubleArray();
        loss.Backward(); // second pass allowed, gradients accumulate
        Close(first.Select(v => 2 * v).ToArray(), x.Grad!, 1e-14);
        Assert.True(loss.Node!.IsReleased);
        Assert.Null(h.Node!.Saved0); // mean/rstd buffers went back to the pool
        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("retainGraph", e.Message);
    }

    [Fact]
    public void GradientsAccumulateAcrossPassesUntilCleared()
    {
        var w = Leaf([1, -2], 2);
        for (int i = 0; i < 3; i++) F.Sum(w * w).Backward();
        Close([6, -12], w.Grad!, 0);
        w.Grad = null;
        F.Sum(w * 3).Backward();
        Close([3, 3], w.Grad!, 0);
    }

    [Fact]
    public void GradsAccumulateInPlaceButACallerSetGradIsNeverWritten()
    {
        var w = Leaf([1, 2], 2);
        F.Sum(w * w).Backward();
        var first = w.Grad!;
        F.Sum(w * w).Backward();
        Assert.Same(first, w.Grad);                 // in place, as PyTorch: no new buffer per step
        Close([4, 8], w.Grad!, 0);

        var mine = Const([10, 20], 2);
        w.Grad = mine;
        F.Sum(w * w).Backward();
        Close([10, 20], mine, 0);                   // the caller's tensor is left alone
        Close([12, 24], w.Grad!, 0);
    }

    [Fact]
    public void ZeroedGradsAreReusedWithoutAllocatingNewBuffers()
    {
        var w = Leaf([1, 2, 3], 3);
        F.Sum(w * w).Backward();
        var buffer = w.Grad!.Value;
        for (int i = 0; i < 3; i++)
        {
            w.Grad!.Value.CopyFrom(Tensor.Scalar(0, DType.Float64));
            F.Sum(w * w).Backward();
        }
        Assert.Same(buffer, w.Grad!.Value);
        Close([2, 4, 6], w.Grad!, 0);
    }

    [Fact]
    public void SharedGradientsDoNotAlias()
    {
        // a + b hands the same incoming gradient to both leaves; scaling one in place must not touch the other.
        var a = Leaf([1, 2, 3], 3);
        var b = Leaf([4, 5, 6], 1, 3);
        F.Sum(a + b).Backward();
        using (var scaled = Ops.Mul(a.Grad!.Value, 10)) a.Grad!.Value.CopyFrom(scaled);
        Close([1, 1, 1], b.Grad!, 0);
    }

    [Fact]
    public void DetachStopsTheGradient()
    {
        var x = Leaf([2], 1);
        var y = x * x.Detach();
        y.Backward();
        Close([2], x.Grad!, 0);
    }

    [Fact]
    public void HooksScaleClipAndCanBeRemoved()
    {
        var x = Leaf([1, 2], 2);
        using (x.ScaleGrad(0.5)) F.Sum(F.Square(x)).Backward();
        Close([1, 2], x.Grad!, 0);
        x.Grad = null;
        F.Sum(F.Square(x)).Backward(); // hook removed
        Close([2, 4], x.Grad!, 0);

        x.Grad = null;
        var h = x * 3;
        using (h.ClipGradValue(0.5)) F.Sum(F.Square(h)).Backward(); // dL/dh = 2h = [6, 12] clipped to 0.5
        Close([1.5, 1.5], x.Grad!, 0);

        x.Grad = null;
        using (x.ClipGradNorm(1)) F.Sum(x * Const([3, 4], 2)).Backward();
        Close([0.6, 0.8], x.Grad!, 1e-12);
    }

    [Fact]
    public void ClearErrors()
    {
        var c = Const([1, 2], 2);
        var e = Assert.Throws<InvalidOperationException>(() => F.Sum(c).Backward());
        Assert.Contains("does not require a gradient", e.Message);
        var x = Leaf([1, 2], 2);
        var y = x * 2;
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
        Assert.Throws<TensorShapeException>(() => y.Backward(Const([1, 2, 3], 3)));
        var f = Assert.Throws<TensorShapeException>(() => F.Cholesky(x));
        Assert.Contains("F.Cholesky", f.Message);
    }

    [Fact]
    public void NonScalarOutputsTakeAnExplicitSeed()
    {
        var x = Leaf([1, 2, 3], 3);
        (x * x).Backward(Const([1, 0, -1], 3));
        Close([2, 0, -6], x.Grad!, 0);
    }
}

/// <summary>Deep graphs (unrolled solvers) and float32 data.</summary>
public class GraphShapeTests
{
    [Fact]
    public void VeryDeepGraphsDoNotOverflowTheStack()
    {
        var x = Leaf([0.5], 1);
        var y = x;
        for (int i = 0; i < 20_000; i++) y = y * 0.9999 + 0.0001 * x;
        y.Backward(Const([1], 1));
        // y = a·y + b·x unrolled n times from y0 = x: dy/dx = aⁿ + b·(1 − aⁿ)/(1 − a) = 1.
        Close([1], x.Grad!, 1e-9);
    }

    [Fact]
    public void Float32GradientsMatchFloat64()
    {
        double[] Grad(DType dtype)
        {
            var x = new Var(Tensor.FromDoubles([0.3, -0.7, 1.1, 0.2, -0.4, 0.9], new Shape(2, 3), dtype), requiresGrad: true);
            var w = new Var(Tensor.FromDoubles([0.5, -0.25, 0.75, 1, 0.1, -0.6], new Shape(2, 3), dtype));
            var loss = F.Mean(F.Mish(F.LayerNorm(x * w, null, null))) + F.Sum(F.Softmax(x, 1) * w);
            loss.Backward();
            Assert.Equal(dtype, x.Grad!.DType);
            return x.Grad!.Value.ToDoubleArray();
        }
        Close(Grad(DType.Float64), Grad(DType.Float32), 1e-5);
    }
}

public class FunctionBehaviourTests
{
    [Fact]
    public void DropoutKeepsAboutOneMinusPAndScales()
    {
        var x = new Var(Tensor.Ones(new Shape(10_000), DType.Float64), requiresGrad: true);
        var y = F.Dropout(x, 0.25, new RandomGenerator(7));
        var v = y.Value.ToDoubleArray();
        int kept = v.Count(e => e != 0);
        Assert.InRange(kept, 7_250, 7_750);
        Assert.All(v.Where(e => e != 0), e => Assert.Equal(1 / 0.75, e, 1e-12));
        Assert.Same(x, F.Dropout(x, 0.25, new RandomGenerator(7), training: false));
        F.Sum(y).Backward();
        Assert.Equal(v, x.Grad!.Value.ToDoubleArray());   // the gradient is the same mask
    }

    [Fact]
    public void ReshapeInfersOneAxisAndReportsBadShapes()
    {
        var x = Leaf([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal(new Shape(3, 2), F.Reshape(x, -1, 2).Shape);
        Assert.Equal(new Shape(6), F.Flatten(F.Transpose(x)).Shape);
        var e = Assert.Throws<TensorShapeException>(() => F.Reshape(x, -1, 4));
        Assert.Contains("F.Reshape", e.Message);
    }

    [Fact]
    public void MatmulOfVectorsIsADotProduct()
    {
        var a = Leaf([1, 2, 3], 3);
        var b = Leaf([4, 5, 6], 3);
        var d = F.Matmul(a, b);
        Assert.Equal(0, d.Rank);
        Assert.Equal(32, d.Item());
        d.Backward();
        Close([4, 5, 6], a.Grad!, 0);
    }
}
