using DiffTori.Engine;

namespace DiffTori.Engine.Tests;

/// <summary>Moments of 100k draws against closed forms, each within 5 standard errors.</summary>
public class RandomStatisticsTests
{
    private const int N = 100_000;

    private static (double Mean, double Var, double Skew, double Kurt) Moments(double[] v)
    {
        double mean = v.Average(), m2 = 0, m3 = 0, m4 = 0;
        foreach (var x in v)
        {
            double d = x - mean, d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        m2 /= v.Length;
        m3 /= v.Length;
        m4 /= v.Length;
        return (mean, m2, m3 / Math.Pow(m2, 1.5), m4 / (m2 * m2));
    }

    [Theory]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float32)]
    public void UniformHasTheRightMeanAndVariance(DType dtype)
    {
        double low = -2, high = 3, width = high - low;
        using var t = Ops.Uniform(new Shape(N), new RandomGenerator(11), low, high, dtype);
        Assert.Equal(dtype, t.DType);
        var v = t.ToDoubleArray();
        Assert.All(v, x => Assert.True(x >= low && (dtype == DType.Float32 ? x <= high : x < high), $"{x} outside [{low}, {high})"));
        var (mean, variance, _, _) = Moments(v);
        double trueVar = width * width / 12;
        Assert.InRange(mean, (low + high) / 2 - 5 * Math.Sqrt(trueVar / N), (low + high) / 2 + 5 * Math.Sqrt(trueVar / N));
        // Var of the sample variance: (μ4 − σ⁴)/N with μ4 = width⁴/80 for a uniform.
        double varSe = Math.Sqrt((Math.Pow(width, 4) / 80 - trueVar * trueVar) / N);
        Assert.InRange(variance, trueVar - 5 * varSe, trueVar + 5 * varSe);
    }

    [Theory]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float32)]
    public void NormalHasTheRightMoments(DType dtype)
    {
        double mu = 1.5, sigma = 2;
        using var t = Ops.Normal(new Shape(100, N / 100), new RandomGenerator(12), mu, sigma, dtype);
        var (mean, variance, skew, kurt) = Moments(t.ToDoubleArray());
        Assert.InRange(mean, mu - 5 * sigma / Math.Sqrt(N), mu + 5 * sigma / Math.Sqrt(N));
        double varSe = sigma * sigma * Math.Sqrt(2.0 / N);
        Assert.InRange(variance, sigma * sigma - 5 * varSe, sigma * sigma + 5 * varSe);
        Assert.InRange(skew, -5 * Math.Sqrt(6.0 / N), 5 * Math.Sqrt(6.0 / N));
        Assert.InRange(kurt, 3 - 5 * Math.Sqrt(24.0 / N), 3 + 5 * Math.Sqrt(24.0 / N));
    }

    [Theory]
    [InlineData(DType.Float64, 0.5, 1.5, -1.0, 2.5)]
    [InlineData(DType.Float32, 0.0, 1.0, -2.0, 2.0)]
    [InlineData(DType.Float64, 0.0, 1.0, 1.0, 4.0)]   // one-sided: the mass piles up near the lower bound
    public void TruncatedNormalStaysInBoundsWithTheClosedFormMean(DType dtype, double mu, double sigma, double low, double high)
    {
        using var t = Ops.TruncatedNormal(new Shape(N), new RandomGenerator(13), mu, sigma, low, high, dtype);
        var v = t.ToDoubleArray();
        Assert.All(v, x => Assert.InRange(x, low, high));
        // Closed form (Johnson, Kotz & Balakrishnan): mean = μ + σ(φ(α) − φ(β))/Z,
        // var = σ²[1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²], Z = Φ(β) − Φ(α).
        double alpha = (low - mu) / sigma, beta = (high - mu) / sigma;
        static double Pdf(double x) => Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI);
        double z = Philox.NormalCdf(beta) - Philox.NormalCdf(alpha);
        double shift = (Pdf(alpha) - Pdf(beta)) / z;
        double trueMean = mu + sigma * shift;
        double trueVar = sigma * sigma * (1 + (alpha * Pdf(alpha) - beta * Pdf(beta)) / z - shift * shift);
        var (mean, variance, _, _) = Moments(v);
        Assert.InRange(mean, trueMean - 5 * Math.Sqrt(trueVar / N), trueMean + 5 * Math.Sqrt(trueVar / N));
        Assert.InRange(variance, trueVar * 0.95, trueVar * 1.05);
    }

    [Fact]
    public void IntegersCoverTheRangeUniformly()
    {
        int low = -3, high = 14, bins = high - low;
        using var t = Ops.Integers(new Shape(N), new RandomGenerator(14), low, high);
        Assert.Equal(DType.Int32, t.DType);
        var counts = new int[bins];
        foreach (int x in t.ToArray<int>())
        {
            Assert.InRange(x, low, high - 1);
            counts[x - low]++;
        }
        double expected = (double)N / bins, chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        // χ² with bins − 1 degrees of freedom: mean bins − 1, sd sqrt(2(bins − 1)); allow 6 sd.
        Assert.True(chi2 < bins - 1 + 6 * Math.Sqrt(2 * (bins - 1)), $"chi-square {chi2:F1} for {bins} bins");
    }

    [Fact]
    public void PermutationIsASeedDeterminedPermutation()
    {
        foreach (int n in new[] { 0, 1, 2, 7, 100, 1000 })
        {
            var rng = new RandomGenerator(15);
            using var p = Ops.Permutation(n, rng);
            Assert.Equal((ulong)n, rng.Counter);
            var values = p.ToArray<int>();
            Assert.Equal(Enumerable.Range(0, n), values.Order());
            using var again = Ops.Permutation(n, new RandomGenerator(15));
            Assert.Equal(values, again.ToArray<int>());
        }
        using var a = Ops.Permutation(1000, new RandomGenerator(1));
        using var b = Ops.Permutation(1000, new RandomGenerator(2));
        Assert.NotEqual(a.ToArray<int>(), b.ToArray<int>());
        // Every position is about equally likely to hold 0 (a shuffle, not a rotation).
        var positions = new int[10];
        var shared = new RandomGenerator(3);
        for (int r = 0; r < 2000; r++)
        {
            using var q = Ops.Permutation(10, shared);
            positions[Array.IndexOf(q.ToArray<int>(), 0)]++;
        }
        Assert.All(positions, c => Assert.InRange(c, 200 - 5 * 14, 200 + 5 * 14));
    }
}
