using DiffTori.Autodiff.Nn;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests.Nn;

public sealed class InitTests
{
    /// <summary>max |(A·Aᵀ or Aᵀ·A) − c·I| over the smaller side of a rows×cols matrix.</summary>
    private static double GramError(double[] a, int rows, int cols, double c)
    {
        bool rowsOrthonormal = rows <= cols;
        int n = rowsOrthonormal ? rows : cols, len = rowsOrthonormal ? cols : rows;
        double worst = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double dot = 0;
                for (int k = 0; k < len; k++)
                    dot += rowsOrthonormal ? a[i * cols + k] * a[j * cols + k] : a[k * cols + i] * a[k * cols + j];
                worst = Math.Max(worst, Math.Abs(dot - (i == j ? c : 0)));
            }
        return worst;
    }

    [Theory]
    [InlineData(8, 5)]
    [InlineData(5, 8)]
    [InlineData(64, 64)]
    [InlineData(50, 512)]
    public void Orthogonal_gives_orthonormal_rows_or_columns(int rows, int cols)
    {
        using var w = Tensor.Empty(new Shape(rows, cols), DType.Float64);
        Init.Orthogonal(w, new RandomGenerator(7));
        Assert.True(GramError(w.ToArray<double>(), rows, cols, 1) < 1e-10);

        using var w32 = Tensor.Empty(new Shape(rows, cols));
        Init.Orthogonal(w32, new RandomGenerator(7), gain: 2);
        Assert.True(GramError(w32.ToDoubleArray(), rows, cols, 4) < 1e-5);
    }

    [Fact]
    public void Orthogonal_flattens_a_convolution_kernel_to_rows_by_the_rest()
    {
        using var w = Tensor.Empty(new Shape(4, 2, 3), DType.Float64);
        Init.Orthogonal(w, new RandomGenerator(1));
        Assert.True(GramError(w.ToArray<double>(), 4, 6, 1) < 1e-10);
    }

    [Fact]
    public void Same_seed_same_values_and_the_counter_advances()
    {
        var rng1 = new RandomGenerator(42);
        var rng2 = new RandomGenerator(42);
        using var a = Tensor.Empty(new Shape(3, 4), DType.Float64);
        using var b = Tensor.Empty(new Shape(3, 4), DType.Float64);
        Init.Normal(a, rng1, mean: 1, std: 2);
        Init.Normal(b, rng2, mean: 1, std: 2);
        Assert.Equal(a.ToArray<double>(), b.ToArray<double>());
        Assert.Equal(12UL, rng1.Counter);
        // Element i is mean + std·N(seed, counter i), the engine's counter-based stream.
        Assert.Equal(1 + 2 * Philox.Normal(42, 5), a.ToArray<double>()[5], 12);

        Init.Normal(a, rng1);
        Assert.NotEqual(b.ToArray<double>(), a.ToArray<double>());
    }

    [Fact]
    public void Fans_and_gains_follow_torch()
    {
        Assert.Equal((3 * 5 * 5, 16 * 5 * 5), Init.Fans(new Shape(16, 3, 5, 5)));
        Assert.Equal((56, 512), Init.Fans(new Shape(512, 56)));
        Assert.Equal(Math.Sqrt(2), Init.Gain(Nonlinearity.Relu), 15);
        Assert.Equal(5.0 / 3, Init.Gain(Nonlinearity.Tanh), 15);
        Assert.Equal(Math.Sqrt(2.0 / (1 + 5)), Init.Gain(Nonlinearity.LeakyRelu, Math.Sqrt(5)), 15);
        Assert.Throws<TensorShapeException>(() => Init.Fans(new Shape(5)));
    }

    private static (double Mean, double Variance, double MaxAbs) Moments(Tensor t)
    {
        var v = t.ToDoubleArray();
        double mean = v.Average();
        return (mean, v.Select(x => (x - mean) * (x - mean)).Sum() / (v.Length - 1), v.Max(Math.Abs));
    }

    [Fact]
    public void Xavier_uniform_has_the_glorot_bound_and_variance()
    {
        using var w = Tensor.Empty(new Shape(200, 300));
        Init.XavierUniform(w, new RandomGenerator(3), gain: 1.5);
        double bound = 1.5 * Math.Sqrt(6.0 / 500);
        var (mean, variance, maxAbs) = Moments(w);
        Assert.True(maxAbs <= bound && maxAbs > 0.99 * bound);
        Assert.True(Math.Abs(mean) < 0.01 * bound);
        Assert.InRange(variance / (bound * bound / 3), 0.97, 1.03);
    }

    [Fact]
    public void Xavier_normal_has_the_glorot_std()
    {
        using var w = Tensor.Empty(new Shape(200, 300));
        Init.XavierNormal(w, new RandomGenerator(4));
        Assert.InRange(Moments(w).Variance / (2.0 / 500), 0.97, 1.03);
    }

    [Fact]
    public void Kaiming_schemes_use_the_fan_and_gain()
    {
        using var w = Tensor.Empty(new Shape(256, 64, 3));   // fan_in 192, fan_out 768
        Init.KaimingNormal(w, new RandomGenerator(5), nonlinearity: Nonlinearity.Relu);
        Assert.InRange(Moments(w).Variance / (2.0 / 192), 0.97, 1.03);

        Init.KaimingNormal(w, new RandomGenerator(5), mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        Assert.InRange(Moments(w).Variance / (2.0 / 768), 0.97, 1.03);

        // torch's Linear default: kaiming_uniform(a = √5) is uniform in ±1/√fan_in.
        Init.KaimingUniform(w, new RandomGenerator(6), a: Math.Sqrt(5));
        double bound = 1 / Math.Sqrt(192);
        var (_, variance, maxAbs) = Moments(w);
        Assert.True(maxAbs <= bound * (1 + 1e-6) && maxAbs > 0.99 * bound);
        Assert.InRange(variance / (bound * bound / 3), 0.97, 1.03);
    }

    [Fact]
    public void Constant_zeros_and_uniform_range()
    {
        using var w = Tensor.Empty(new Shape(10, 10));
        Init.Constant(w, 0.5);
        Assert.All(w.ToFloatArray(), x => Assert.Equal(0.5f, x));
        Init.Zeros(w);
        Assert.All(w.ToFloatArray(), x => Assert.Equal(0f, x));
        Init.Uniform(w, new RandomGenerator(9), -3, -2);
        Assert.All(w.ToFloatArray(), x => Assert.InRange(x, -3f, -2f));
        using var ints = Tensor.Zeros(new Shape(3), DType.Int32);
        Assert.Contains("float32 or float64", Assert.Throws<ArgumentException>(() => Init.Uniform(ints, new RandomGenerator(1))).Message);
    }
}
