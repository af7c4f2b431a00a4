using DiffTori.Autodiff.Nn;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests.Nn;

/// <summary>
/// Backward writes Linear weight gradients straight into an owned Grad and ZeroGrad only marks owned
/// Grads as zero: the gradients must still equal those of the unfused composite recomputed from scratch.
/// </summary>
public sealed class GradAccumulationTests
{
    private static (Linear Layer, Var X, Var T) Setup(int batch)
    {
        var layer = new Linear(5, 3, new RandomGenerator(4));
        var random = new Random(batch);
        double[] xs = new double[batch * 5], ts = new double[batch * 3];
        for (int i = 0; i < xs.Length; i++) xs[i] = random.NextDouble() * 2 - 1;
        for (int i = 0; i < ts.Length; i++) ts[i] = random.NextDouble() * 2 - 1;
        return (layer, new Var(Tensor.FromDoubles(xs, new Shape(batch, 5))), new Var(Tensor.FromDoubles(ts, new Shape(batch, 3))));
    }

    /// <summary>Reference: the composite form's gradients into fresh leaves (no fused rule, no existing Grad).</summary>
    private static (double[] W, double[] B) Reference(Linear layer, Var x, Var t)
    {
        var w = new Var(layer.Weight.Value.Clone(), requiresGrad: true);
        var b = new Var(layer.Bias!.Value.Clone(), requiresGrad: true);
        F.Mse(F.LinearComposite(x, w, b), t).Backward();
        return (w.Grad!.Value.ToDoubleArray(), b.Grad!.Value.ToDoubleArray());
    }

    private static void AssertClose(double[] expected, Var? actual, double scale = 1)
    {
        var got = actual!.Value.ToDoubleArray();
        Assert.Equal(expected.Length, got.Length);
        for (int i = 0; i < got.Length; i++) Assert.Equal(expected[i] * scale, got[i], 1e-5);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Repeated_backward_accumulates_and_zero_grad_restarts(int batch)
    {
        var (layer, x, t) = Setup(batch);
        var (rw, rb) = Reference(layer, x, t);
        layer.ZeroGrad();
        F.Mse(layer.Forward(x), t).Backward(); // first pass: Grad allocated
        F.Mse(layer.Forward(x), t).Backward(); // second pass: added in place
        AssertClose(rw, layer.Weight.Grad, 2);
        AssertClose(rb, layer.Bias!.Grad, 2);

        layer.ZeroGrad(); // deferred: reads see zeros
        Assert.All(layer.Weight.Grad!.Value.ToDoubleArray(), g => Assert.Equal(0, g));
        F.Mse(layer.Forward(x), t).Backward();
        AssertClose(rw, layer.Weight.Grad);
        AssertClose(rb, layer.Bias!.Grad);

        layer.ZeroGrad(); // deferred and not read before the next pass: the pass overwrites
        F.Mse(layer.Forward(x), t).Backward();
        F.Mse(layer.Forward(x), t).Backward();
        AssertClose(rw, layer.Weight.Grad, 2);
        AssertClose(rb, layer.Bias!.Grad, 2);
    }

    [Fact]
    public void Create_graph_and_autograd_grad_leave_the_fast_path_alone()
    {
        var (layer, x, t) = Setup(3);
        var (rw, _) = Reference(layer, x, t);
        F.Mse(layer.Forward(x), t).Backward();
        layer.ZeroGrad();
        // Autograd.Grad must not touch Grad, even where the fused rule could write into it.
        var grads = Autograd.Grad(F.Mse(layer.Forward(x), t), [layer.Weight]);
        AssertClose(rw, grads[0]);
        Assert.All(layer.Weight.Grad!.Value.ToDoubleArray(), g => Assert.Equal(0, g));
        // createGraph: the weight gradient is itself differentiable.
        layer.ZeroGrad(setToNone: true);
        F.Mse(layer.Forward(x), t).Backward(createGraph: true);
        Assert.True(layer.Weight.Grad!.RequiresGrad);
        AssertClose(rw, layer.Weight.Grad);
    }
}
