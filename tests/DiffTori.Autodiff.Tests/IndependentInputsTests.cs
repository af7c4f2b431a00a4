using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests;

/// <summary>Autograd.Grad with inputsIndependent: the search stops at the inputs, and the gradients are unchanged.</summary>
public class IndependentInputsTests
{
    [Fact]
    public void GradientsAndSecondOrderAreTheSameAsAFullSearch()
    {
        var rng = new RandomGenerator(7);
        var w = new Var(Ops.Normal(new Shape(3, 3), rng, dtype: DType.Float64), requiresGrad: true);
        // A long recorded history behind the inputs, as an unrolled solver leaves.
        var h = new Var(Ops.Normal(new Shape(4, 3), rng, dtype: DType.Float64), requiresGrad: true);
        for (int i = 0; i < 50; i++) h = F.Tanh(F.Matmul(h, w));
        var a = F.Narrow(h, 0, 0, 2);
        var b = F.Narrow(h, 0, 2, 2) * 2.0;
        Var Output() => F.Sum(F.Square(F.Tanh(F.Matmul(a, w))) * b) + F.Sum(F.Exp(a * 0.1));

        var full = Autograd.Grad([Output()], [a, b], createGraph: true);
        var pruned = Autograd.Grad([Output()], [a, b], createGraph: true, inputsIndependent: true);
        for (int i = 0; i < 2; i++)
            Close(full[i].Value.ToDoubleArray(), pruned[i].Value.ToDoubleArray(), $"first order, input {i}");

        // The Hessian-vector product through the recorded gradients agrees too.
        var seed = new Var(Tensor.OnesLike(a.Value));
        var hFull = Autograd.Grad([full[0]], [a, b], [seed], allowUnused: true);
        var hPruned = Autograd.Grad([pruned[0]], [a, b], [seed], allowUnused: true, inputsIndependent: true);
        for (int i = 0; i < 2; i++)
            Close(hFull[i].Value.ToDoubleArray(), hPruned[i].Value.ToDoubleArray(), $"second order, input {i}");
    }

    private static void Close(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * (1 + Math.Abs(expected[i])), $"{what}[{i}]: {expected[i]} vs {actual[i]}");
    }
}
