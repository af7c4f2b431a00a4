using System.Runtime.Intrinsics;
using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Parallel;

/// <summary>The float32 exp used by softmax (and its domain edges) against Math.Exp.</summary>
public class FastExpTests
{
    [Fact]
    public void NonPositiveExpIsWithinTwoUlpOfMathExp()
    {
        var random = new System.Random(11);
        var inputs = new List<float> { 0f, -0f, -1e-30f, -1e-7f, -0.5f, -0.6931472f, -1f, -10f, -87f, -87.33f };
        for (int i = 0; i < 20000; i++) inputs.Add((float)(-random.NextDouble() * 87.3));
        for (int i = 0; i < 2000; i++) inputs.Add((float)(-random.NextDouble() * 1e-3));
        foreach (float x in inputs)
        {
            float got512 = FastExp.NonPositive(Vector512.Create(x)).ToScalar();
            float got256 = FastExp.NonPositive(Vector256.Create(x)).ToScalar();
            double expected = Math.Exp(x);
            Assert.True(Math.Abs(got512 - expected) <= 2.5e-7 * expected, $"exp({x:R}) = {got512:R}, expected {expected:R}");
            Assert.Equal(got512, got256);
        }
    }

    [Fact]
    public void UnderflowGivesZeroAndNaNStaysNaN()
    {
        foreach (float x in new[] { -87.4f, -100f, -1e10f, float.NegativeInfinity })
            Assert.Equal(0f, FastExp.NonPositive(Vector512.Create(x)).ToScalar());
        Assert.True(float.IsNaN(FastExp.NonPositive(Vector512.Create(float.NaN)).ToScalar()));
    }
}
