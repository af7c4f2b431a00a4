using DiffTori.Envs.MuJoCo.Tasks;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>dm_control's tolerance: 1 inside the bounds, exactly valueAtMargin at the margin, decreasing outside.</summary>
public class ToleranceTests
{
    public static TheoryData<Sigmoid> Sigmoids()
    {
        var d = new TheoryData<Sigmoid>();
        foreach (var s in Enum.GetValues<Sigmoid>()) d.Add(s);
        return d;
    }

    [Theory]
    [MemberData(nameof(Sigmoids))]
    public void EqualsValueAtMarginAtTheMarginAndDecreases(Sigmoid sigmoid)
    {
        foreach (double v in new[] { 0.1, 0.5, 0.9 })
        {
            Assert.Equal(1.0, Tolerance.Of(0.3, 0.2, 0.4, margin: 2, sigmoid, v));
            Assert.Equal(v, Tolerance.Of(0.4 + 2, 0.2, 0.4, margin: 2, sigmoid, v), 12);
            Assert.Equal(v, Tolerance.Of(0.2 - 2, 0.2, 0.4, margin: 2, sigmoid, v), 12);
            double previous = 1;
            for (double x = 0.45; x < 4; x += 0.25)
            {
                double y = Tolerance.Of(x, 0.2, 0.4, margin: 2, sigmoid, v);
                Assert.True(y <= previous && y >= 0, $"{sigmoid}: not decreasing at {x}");
                previous = y;
            }
        }
    }

    [Fact]
    public void ClosedFormsOfTheShapes()
    {
        // gaussian: exp(-x² ln(1/v)... ) → at x = 0.5, v = 0.1: exp(-0.5·0.25·(-2 ln 0.1)) = 0.1^0.25
        Assert.Equal(Math.Pow(0.1, 0.25), Tolerance.Shape(0.5, 0.1, Sigmoid.Gaussian), 12);
        Assert.Equal(1 - 0.5 * 0.5, Tolerance.Shape(0.5, 0.5, Sigmoid.Linear), 12);
        Assert.Equal(0.0, Tolerance.Shape(2.5, 0.0, Sigmoid.Linear));
        Assert.Equal(1 - 0.25, Tolerance.Shape(0.5, 0.0, Sigmoid.Quadratic), 12);
        Assert.Equal(1 / (0.5 * 9 + 1), Tolerance.Shape(0.5, 0.1, Sigmoid.Reciprocal), 12);
        Assert.Equal(1 / (0.25 * 9 + 1), Tolerance.Shape(0.5, 0.1, Sigmoid.LongTail), 12);
        Assert.Equal(0.0, Tolerance.Of(1.5, 0, 1), 12);   // margin 0: an indicator
        Assert.Equal(1.0, Tolerance.Of(1.0, 0, 1), 12);
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Tolerance.Of(0, 1, 0));
        Assert.Throws<ArgumentException>(() => Tolerance.Of(0, margin: -1));
        Assert.Throws<ArgumentException>(() => Tolerance.Of(5, 0, 1, margin: 1, Sigmoid.Gaussian, valueAtMargin: 0));
    }
}
