using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests;

public class SmokeTests
{
    [Fact]
    public void MulAddBackward()
    {
        var a = new Var(Tensor.FromDoubles([1, 2, 3], new Shape(3), DType.Float64), requiresGrad: true, name: "a");
        var b = new Var(Tensor.FromDoubles([4, 5, 6], new Shape(3), DType.Float64), requiresGrad: true, name: "b");
        var y = F.Sum(a * b + a);
        y.Backward();
        Assert.Equal(new double[] { 5, 6, 7 }, a.Grad!.Value.ToDoubleArray());
        Assert.Equal(new double[] { 1, 2, 3 }, b.Grad!.Value.ToDoubleArray());
    }
}
