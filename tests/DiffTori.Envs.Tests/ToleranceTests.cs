using DiffTori.Envs;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Envs.Tests;

public class ToleranceTests
{
    static readonly Sigmoid[] All = Enum.GetValues<Sigmoid>();

    [Theory]
    [InlineData(Sigmoid.Gaussian)]
    [InlineData(Sigmoid.Hyperbolic)]
    [InlineData(Sigmoid.LongTail)]
    [InlineData(Sigmoid.Reciprocal)]
    [InlineData(Sigmoid.Cosine)]
    [InlineData(Sigmoid.Linear)]
    [InlineData(Sigmoid.Quadratic)]
    [InlineData(Sigmoid.TanhSquared)]
    public void Is_one_inside_bounds_and_value_at_margin_at_the_margin(Sigmoid sigmoid)
    {
        Assert.Equal(1.0, Tolerance.Evaluate(0.3, 0.2, 0.5, margin: 0.7, sigmoid: sigmoid));
        Assert.Equal(1.0, Tolerance.Evaluate(0.2, 0.2, 0.5, margin: 0.7, sigmoid: sigmoid));
        Assert.Equal(1.0, Tolerance.Evaluate(0.5, 0.2, 0.5, margin: 0.7, sigmoid: sigmoid));
        // Distance = margin on either side gives value_at_margin.
        Assert.Equal(0.1, Tolerance.Evaluate(0.5 + 0.7, 0.2, 0.5, margin: 0.7, sigmoid: sigmoid), 12);
        Assert.Equal(0.1, Tolerance.Evaluate(0.2 - 0.7, 0.2, 0.5, margin: 0.7, sigmoid: sigmoid), 12);
        Assert.Equal(0.37, Tolerance.Evaluate(2.5, 0, 0, margin: 2.5, sigmoid: sigmoid, valueAtMargin: 0.37), 12);
    }

    [Fact]
    public void Closed_forms_at_half_the_margin()
    {
        // x = distance / margin = 0.5, value at margin v = 0.1.
        double x = 0.5, v = 0.1;
        double At(Sigmoid s) => Tolerance.Evaluate(1.0 + 0.5 * 2.0, 0, 1.0, margin: 2.0, sigmoid: s, valueAtMargin: v);
        Assert.Equal(Math.Exp(-0.5 * x * x * (-2 * Math.Log(v))), At(Sigmoid.Gaussian), 14);
        Assert.Equal(1 / Math.Cosh(x * Math.Log(1 / v + Math.Sqrt(1 / (v * v) - 1))), At(Sigmoid.Hyperbolic), 14);
        Assert.Equal(1 / (x * x * (1 / v - 1) + 1), At(Sigmoid.LongTail), 14);
        Assert.Equal(1 / (x * (1 / v - 1) + 1), At(Sigmoid.Reciprocal), 14);
        Assert.Equal((1 + Math.Cos(Math.PI * x * Math.Acos(2 * v - 1) / Math.PI)) / 2, At(Sigmoid.Cosine), 14);
        Assert.Equal(1 - x * (1 - v), At(Sigmoid.Linear), 14);
        Assert.Equal(1 - x * x * (1 - v), At(Sigmoid.Quadratic), 14);
        double t = Math.Tanh(x * 0.5 * Math.Log((1 + Math.Sqrt(1 - v)) / (1 - Math.Sqrt(1 - v))));
        Assert.Equal(1 - t * t, At(Sigmoid.TanhSquared), 14);
    }

    [Fact]
    public void Hard_indicator_when_margin_is_zero_and_compact_sigmoids_reach_zero()
    {
        Assert.Equal(0.0, Tolerance.Evaluate(1.0001, 0, 1));
        Assert.Equal(1.0, Tolerance.Evaluate(1.0, 0, 1));
        Assert.Equal(0.0, Tolerance.Evaluate(2.0, 0, 0, margin: 1, sigmoid: Sigmoid.Quadratic, valueAtMargin: 0));
        Assert.Equal(0.0, Tolerance.Evaluate(1.0, 0, 0, margin: 1, sigmoid: Sigmoid.Quadratic, valueAtMargin: 0));
        Assert.Equal(0.75, Tolerance.Evaluate(-0.5, 0, 0, margin: 1, sigmoid: Sigmoid.Quadratic, valueAtMargin: 0), 14);
        Assert.Equal(0.0, Tolerance.Evaluate(10, 0, 0, margin: 1, sigmoid: Sigmoid.Linear, valueAtMargin: 0.5));
        Assert.Equal(0.0, Tolerance.Evaluate(10, 0, 0, margin: 1, sigmoid: Sigmoid.Cosine, valueAtMargin: 0.5));
    }

    [Fact]
    public void Bad_parameters_throw_with_the_values()
    {
        var e = Assert.Throws<ArgumentException>(() => Tolerance.Evaluate(0, 1, 0));
        Assert.Contains("1", e.Message);
        Assert.Throws<ArgumentException>(() => Tolerance.Evaluate(0, 0, 1, margin: -1));
        Assert.Throws<ArgumentException>(() => Tolerance.Evaluate(5, 0, 1, margin: 1, sigmoid: Sigmoid.Gaussian, valueAtMargin: 0));
        Assert.Throws<ArgumentException>(() => Tolerance.Evaluate(5, 0, 1, margin: 1, sigmoid: Sigmoid.Linear, valueAtMargin: 1));
    }

    [Fact]
    public void Decreases_with_distance_and_stays_in_unit_interval()
    {
        var gen = from s in Gen.Elements(All)
                  from d1 in Gen.Choose(0, 3000)
                  from d2 in Gen.Choose(0, 3000)
                  select (s, Math.Min(d1, d2) / 1000.0, Math.Max(d1, d2) / 1000.0);
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var (s, near, far) = t;
            double a = Tolerance.Evaluate(1 + near, 0, 1, margin: 0.8, sigmoid: s, valueAtMargin: 0.2);
            double b = Tolerance.Evaluate(1 + far, 0, 1, margin: 0.8, sigmoid: s, valueAtMargin: 0.2);
            return a >= b - 1e-15 && a is >= 0 and <= 1 && b is >= 0 and <= 1;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }
}
