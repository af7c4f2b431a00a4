using System.Runtime.Intrinsics;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// LaneMath.SinCos against Math.Sin/Math.Cos (error in ulps, over small, medium, large and huge arguments) and
/// its scalar overload against every lane of the vector one, bit for bit, whatever the other lanes hold; and the
/// models built on it: a lane of the pendulum's and cart-pole's StepLanes rounds exactly as their scalar Step (what
/// lets an example solved in a batch take the same iterations as alone).
/// </summary>
public class LaneMathTests
{
    private const int L = 8;

    /// <summary>Distance in units in the last place between two finite doubles (0 when equal, also ±0).</summary>
    private static long Ulps(double a, double b)
    {
        if (a == b) return 0;
        long ia = BitConverter.DoubleToInt64Bits(a), ib = BitConverter.DoubleToInt64Bits(b);
        if (ia < 0) ia = long.MinValue - ia;
        if (ib < 0) ib = long.MinValue - ib;
        return Math.Abs(ia - ib);
    }

    /// <summary>A random argument of magnitude up to 10^scale (scale from −3 to 12: past the kernel's limit too).</summary>
    private static double Argument(Random rng, int scale) => (2 * rng.NextDouble() - 1) * Math.Pow(10, scale);

    [Fact]
    public void WithinOneUlpOfMathSinCos()
    {
        var rng = new Random(12345);
        long worstSin = 0, worstCos = 0;
        string where = "";
        for (int i = 0; i < 400_000; i++)
        {
            double x = Argument(rng, rng.Next(-3, 13));
            var (s, c) = LaneMath.SinCos(x);
            long es = Ulps(Math.Sin(x), s), ec = Ulps(Math.Cos(x), c);
            if (es > worstSin) { worstSin = es; where = $"sin({x:R}) = {s:R} vs {Math.Sin(x):R}"; }
            if (ec > worstCos) { worstCos = ec; where = $"cos({x:R}) = {c:R} vs {Math.Cos(x):R}"; }
        }
        Assert.True(worstSin <= 1 && worstCos <= 1, $"worst sin {worstSin} ulp, cos {worstCos} ulp; last worst: {where}");
    }

    [Fact]
    public void NearMultiplesOfHalfPiAndSpecialValues()
    {
        // Doubles next to k·π/2 give tiny reduced arguments: the split π/2 must keep their relative accuracy.
        for (int k = -2000; k <= 2000; k++)
        {
            double x = k * (Math.PI / 2);
            for (int d = -3; d <= 3; d++)
            {
                double y = x;
                for (int j = 0; j < Math.Abs(d); j++) y = d > 0 ? Math.BitIncrement(y) : Math.BitDecrement(y);
                var (s, c) = LaneMath.SinCos(y);
                Assert.True(Ulps(Math.Sin(y), s) <= 1, $"sin({y:R}) = {s:R} vs {Math.Sin(y):R}");
                Assert.True(Ulps(Math.Cos(y), c) <= 1, $"cos({y:R}) = {c:R} vs {Math.Cos(y):R}");
            }
        }
        foreach (double x in new[] { 0.0, -0.0, double.Epsilon, 1e-300, -1e-8, LaneMath.Limit, -LaneMath.Limit, Math.BitIncrement(LaneMath.Limit), 1e300 })
        {
            var (s, c) = LaneMath.SinCos(x);
            Assert.True(Ulps(Math.Sin(x), s) <= 1, $"sin({x:R}) = {s:R} vs {Math.Sin(x):R}");
            Assert.True(Ulps(Math.Cos(x), c) <= 1, $"cos({x:R}) = {c:R} vs {Math.Cos(x):R}");
        }
        Assert.True(double.IsNegative(LaneMath.SinCos(-0.0).Sin), "sin(−0) keeps the sign");
        foreach (double x in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var (s, c) = LaneMath.SinCos(x);
            Assert.True(double.IsNaN(s) && double.IsNaN(c), $"sin/cos({x}) = {s}, {c}");
        }
    }

    [Fact]
    public void ScalarMatchesEveryLaneBitForBit() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            var x = new double[L];
            // Mixed lanes: small, large and (sometimes) past the limit or not finite, so a fallback lane sits beside kernel lanes.
            for (int l = 0; l < L; l++)
                x[l] = rng.Next(10) switch { 0 => double.NaN, 1 => Argument(rng, 11), _ => Argument(rng, rng.Next(-3, 7)) };
            var (vs, vc) = LaneMath.SinCos(Vector512.Create(x));
            for (int l = 0; l < L; l++)
            {
                var (s, c) = LaneMath.SinCos(x[l]);
                Assert.Equal(BitConverter.DoubleToInt64Bits(s), BitConverter.DoubleToInt64Bits(vs.GetElement(l)));
                Assert.Equal(BitConverter.DoubleToInt64Bits(c), BitConverter.DoubleToInt64Bits(vc.GetElement(l)));
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    [Theory]
    [InlineData("pendulum")]
    [InlineData("cartpole")]
    public void LaneDynamicsRoundExactlyAsTheScalarStep(string name) =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var p = name == "pendulum" ? PendulumSwingUp.Problem(3) : CartPole.Problem(3);
            int n = p.StateDim;
            var lanes = Assert.IsAssignableFrom<IAnalyticDynamicsLanes>(p.AnalyticDynamics);
            var rng = new Random(seed);
            var x = new double[L * n]; var u = new double[L];
            for (int i = 0; i < x.Length; i++) x[i] = Argument(rng, rng.Next(-1, 3));
            for (int l = 0; l < L; l++) u[l] = Argument(rng, 1);
            var xv = new Vector512<double>[n];
            for (int i = 0; i < n; i++) { var col = new double[L]; for (int l = 0; l < L; l++) col[l] = x[l * n + i]; xv[i] = Vector512.Create(col); }
            var next = new Vector512<double>[n]; var a = new Vector512<double>[n * n]; var b = new Vector512<double>[n];
            lanes.StepLanes(xv, [Vector512.Create(u)], next, a, b);
            for (int l = 0; l < L; l++)
            {
                var sNext = new double[n]; var sa = new double[n * n]; var sb = new double[n];
                p.AnalyticDynamics!.Step(x.AsSpan(l * n, n), u.AsSpan(l, 1), sNext, sa, sb);
                for (int i = 0; i < n; i++) Assert.Equal(BitConverter.DoubleToInt64Bits(sNext[i]), BitConverter.DoubleToInt64Bits(next[i].GetElement(l)));
                for (int i = 0; i < n * n; i++) Assert.Equal(BitConverter.DoubleToInt64Bits(sa[i]), BitConverter.DoubleToInt64Bits(a[i].GetElement(l)));
                for (int i = 0; i < n; i++) Assert.Equal(BitConverter.DoubleToInt64Bits(sb[i]), BitConverter.DoubleToInt64Bits(b[i].GetElement(l)));
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(50));
}
