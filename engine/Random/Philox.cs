namespace DiffTori.Engine;

/// <summary>Four 32-bit random words: one Philox block.</summary>
public struct Philox4
{
    public uint X0, X1, X2, X3;
}

/// <summary>
/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a
/// counter-based generator, so element i of any draw is a pure function of (seed, counter + i).
/// The CPU and GPU backends call these same static functions, which is why they give the same
/// numbers. Written with plain integer and Math calls so that ILGPU can compile them into kernels.
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The block for one 64-bit counter under one 64-bit key.</summary>
    public static Philox4 Block(ulong seed, ulong counter)
    {
        uint c0 = (uint)counter, c1 = (uint)(counter >> 32), c2 = 0, c3 = 0;
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
        for (int round = 0; round < 10; round++)
        {
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0;
            uint n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint)p1;
            c3 = (uint)p0;
            c0 = n0;
            c2 = n2;
            k0 += W0;
            k1 += W1;
        }
        return new Philox4 { X0 = c0, X1 = c1, X2 = c2, X3 = c3 };
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public static double Uniform01(ulong seed, ulong counter)
    {
        var b = Block(seed, counter);
        return ((ulong)(b.X0 >> 5) * 67108864UL + (b.X1 >> 6)) * (1.0 / 9007199254740992.0);
    }

    /// <summary>Standard normal by Box–Muller on the block's words.</summary>
    public static double Normal(ulong seed, ulong counter)
    {
        var b = Block(seed, counter);
        double u1 = (b.X0 + 0.5) * (1.0 / 4294967296.0);           // (0, 1): log is finite
        double u2 = b.X1 * (1.0 / 4294967296.0);
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Standard normal restricted to [a, b], by inverting the normal CDF between Φ(a) and Φ(b).</summary>
    public static double TruncatedNormal(ulong seed, ulong counter, double a, double b)
    {
        var block = Block(seed, counter);
        double u = (block.X0 + 0.5) * (1.0 / 4294967296.0);
        double lo = NormalCdf(a), hi = NormalCdf(b);
        double p = lo + u * (hi - lo);
        double x = InverseNormalCdf(p);
        return Math.Min(Math.Max(x, a), b);
    }

    /// <summary>Integer uniform in [low, high) by a 32×32→64 multiply (bias below 2^-32·range).</summary>
    public static int Integer(ulong seed, ulong counter, int low, int high)
    {
        uint range = (uint)(high - low);
        uint x = Block(seed, counter).X0;
        return low + (int)(((ulong)x * range) >> 32);
    }

    /// <summary>Φ(x), the standard normal CDF.</summary>
    public static double NormalCdf(double x) => 0.5 * Erfc(-x * 0.70710678118654752440);

    /// <summary>
    /// Complementary error function, |relative error| below 1.2e-7 everywhere (a Chebyshev fit of
    /// t·exp(−z² + P(t)) with t = 1/(1 + z/2), the classic form from Numerical Recipes §6.2).
    /// </summary>
    public static double Erfc(double x)
    {
        double z = Math.Abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                      t * (-0.82215223 + t * 0.17087277))))))));
        double r = t * Math.Exp(poly);
        return x >= 0 ? r : 2.0 - r;
    }

    /// <summary>
    /// Φ⁻¹(p) by Acklam's rational approximation (relative error about 1e-9), refined with one
    /// Halley step against <see cref="Erfc"/>.
    /// </summary>
    public static double InverseNormalCdf(double p)
    {
        if (p <= 0) return double.NegativeInfinity;
        if (p >= 1) return double.PositiveInfinity;
        const double plow = 0.02425, phigh = 1 - plow;
        double x;
        if (p < plow)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            x = (((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00)
                / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1);
        }
        else if (p <= phigh)
        {
            double q = p - 0.5, r = q * q;
            x = (((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q
                / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1);
        }
        else
        {
            double q = Math.Sqrt(-2 * Math.Log(1 - p));
            x = -(((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00)
                / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1);
        }
        double e = NormalCdf(x) - p;
        double u = e * 2.50662827463100050242 * Math.Exp(x * x / 2);
        return x - u / (1 + x * u / 2);
    }
}
