using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests;

/// <summary>Ops recorded from outside the library (Autograd.RecordOp) with several inputs.</summary>
public class CustomOpTests
{
    private static Var Leaf(double[] v, bool grad = true) => new(Tensor.FromDoubles(v, new Shape(v.Length), DType.Float64), requiresGrad: grad);

    /// <summary>y = a⊙b + c computed as a tensor, its rule written by hand: the gradients reach each input that wants one.</summary>
    private static Var Fused(Var a, Var b, Var c, List<int> asked) =>
        Autograd.RecordOp("fused-mul-add", Ops.Add(Ops.Mul(a.Value, b.Value), c.Value), [a, b, c], (node, g) =>
        {
            var grads = new Var?[3];
            for (int i = 0; i < 3; i++) if (node.Needs(i)) asked.Add(i);
            if (node.Needs(0)) grads[0] = g * new Var(node.Input(1).Value);
            if (node.Needs(1)) grads[1] = g * new Var(node.Input(0).Value);
            if (node.Needs(2)) grads[2] = g;
            return Grads.Of(grads);
        });

    [Fact]
    public void GradientsReachEveryInputThatWantsOne()
    {
        var a = Leaf([1, 2, 3]);
        var b = Leaf([4, -5, 6], grad: false);
        var c = Leaf([0.5, 0.5, 0.5]);
        var asked = new List<int>();
        var y = Fused(a, b, c, asked);
        Assert.Equal([4.5, -9.5, 18.5], y.Value.ToDoubleArray());
        F.Sum(y * y).Backward();
        Assert.Equal([0, 2], asked);
        Assert.Equal([2 * 4.5 * 4, 2 * -9.5 * -5, 2 * 18.5 * 6], a.Grad!.Value.ToDoubleArray());
        Assert.Equal([9.0, -19, 37], c.Grad!.Value.ToDoubleArray());
        Assert.Null(b.Grad);
    }

    [Fact]
    public void NothingIsRecordedWithoutAnInputThatNeedsAGradient()
    {
        var asked = new List<int>();
        Assert.Null(Fused(Leaf([1], false), Leaf([2], false), Leaf([3], false), asked).Node);
        using (Autograd.NoGrad()) Assert.Null(Fused(Leaf([1]), Leaf([2]), Leaf([3]), asked).Node);
        var ex = Assert.Throws<ArgumentException>(() => Autograd.RecordOp("empty", Tensor.Zeros(new Shape(1)), [], (n, g) => default));
        Assert.Contains("empty", ex.Message);
    }
}
