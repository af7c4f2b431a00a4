using DiffTori.Engine;
using static DiffTori.Autodiff.Tests.TestData;

namespace DiffTori.Autodiff.Tests;

/// <summary>GradCheck itself: it passes correct rules and catches wrong ones, naming the input and element.</summary>
public class GradCheckTests
{
    /// <summary>x² with a wrong rule (x instead of 2x) on element 2 and up.</summary>
    private static Var BadSquare(Var x) => Record.Op("bad_square", Ops.Square(x.Value), x, static (n, g) =>
    {
        var scale = Tensor.FromDoubles([2, 2, 1, 1], new Shape(4), n.A.DType);
        return g * n.A * new Var(scale);
    });

    /// <summary>eˣ whose rule multiplies by a constant copy of eˣ: first derivative right, second wrong.</summary>
    private static Var DetachedExp(Var x) => Record.Op("detached_exp", Ops.Exp(x.Value), x, static (n, g) => g * n.Out.Detach());

    [Fact]
    public void PassesCorrectRules()
    {
        var inputs = new[] { AutodiffGens.Values(new Shape(2, 3), 1), AutodiffGens.Values(new Shape(3), 2) };
        var report = GradCheck.Check(x => F.Sum(F.Tanh(x[0]) * x[1]), inputs);
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(9, report.ElementsChecked);
        Assert.True(GradCheck.CheckSecondOrder(x => F.Sum(F.Tanh(x[0]) * x[1]), inputs).Passed);
    }

    [Fact]
    public void ReportsTheWorstMismatch()
    {
        var inputs = new[] { AutodiffGens.Values(new Shape(3), 1), Tensor.FromDoubles([0.5, 1, 1.5, 2], new Shape(4), DType.Float64) };
        var report = GradCheck.Check(x => F.Sum(x[0]) + F.Sum(BadSquare(x[1])), inputs);
        Assert.False(report.Passed);
        Assert.Equal(1, report.Input);
        Assert.Equal(3, report.Element);               // |2 − 4| is the largest error
        Assert.Equal(0.5, report.Analytic / report.Numeric, 1e-6); // x instead of 2x (the output is weighted by GradCheck's fixed probe)
        Assert.Contains("FAILED", report.ToString());
        Assert.Throws<GradCheckException>(() => GradCheck.Assert(x => F.Sum(BadSquare(x[0])), [inputs[1]]));
    }

    [Fact]
    public void SecondOrderCheckCatchesANonDifferentiableRule()
    {
        var inputs = new[] { AutodiffGens.Values(new Shape(3), 5) };
        Assert.True(GradCheck.Check(x => F.Sum(DetachedExp(x[0])), inputs).Passed);
        var report = GradCheck.CheckSecondOrder(x => F.Sum(DetachedExp(x[0])), inputs);
        Assert.False(report.Passed, report.ToString());
        Assert.Equal("gradgradcheck", report.What);
    }

    [Fact]
    public void WorksOnFloat32InputsByCheckingInFloat64()
    {
        var inputs = new[] { Tensor.FromDoubles([0.1, -0.3, 0.7], new Shape(3), DType.Float32) };
        var report = GradCheck.Check(x => F.Sum(F.Softplus(x[0]) * F.Sigmoid(x[0])), inputs);
        Assert.True(report.Passed, report.ToString());
    }
}
