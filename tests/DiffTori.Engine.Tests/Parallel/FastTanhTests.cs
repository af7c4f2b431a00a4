using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Parallel;

/// <summary>The fused float32 tanh (vector body and scalar tail) against Math.Tanh.</summary>
public class FastTanhTests
{
    [Fact]
    public void FusedTanhIsWithinTwoUlpEverywhere()
    {
        // 100 003 values (not a multiple of the vector width, so the scalar tail runs too) over [-12, 12],
        // dense near the 0.5 switch from the series to the exp formula.
        var random = new System.Random(12);
        var x = new float[100_003];
        for (int i = 0; i < x.Length; i++)
            x[i] = i % 3 == 0 ? (float)(random.NextDouble() * 24 - 12) : (float)((random.NextDouble() - 0.5) * 1.2);
        var y = new float[x.Length];
        FastTanh.Apply(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double expected = Math.Tanh(x[i]);
            Assert.True(Math.Abs(y[i] - expected) <= 2.4e-7 * Math.Abs(expected), $"tanh({x[i]:R}) = {y[i]:R}, expected {expected:R}");
        }

        // In place gives the same values.
        var copy = (float[])x.Clone();
        FastTanh.Apply(copy, copy);
        Assert.Equal(y, copy);
    }

    [Fact]
    public void SpecialValues()
    {
        float[] x = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 100f, -100f, 1e-30f];
        foreach (int length in new[] { x.Length, 32 }) // scalar path only, and inside a vector
        {
            var input = new float[length];
            x.CopyTo(input, 0);
            var y = new float[length];
            FastTanh.Apply(input, y);
            Assert.Equal(0f, y[0]);
            Assert.True(float.IsNegative(y[1]), "tanh(-0) keeps the sign");
            Assert.Equal(1f, y[2]);
            Assert.Equal(-1f, y[3]);
            Assert.True(float.IsNaN(y[4]));
            Assert.Equal(1f, y[5]);
            Assert.Equal(-1f, y[6]);
            Assert.Equal(1e-30f, y[7]);
        }
    }
}
