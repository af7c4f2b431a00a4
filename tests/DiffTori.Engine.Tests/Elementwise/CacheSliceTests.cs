using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Elementwise;

/// <summary>
/// Outputs longer than one cache slice (CacheSlices) are computed slice by slice, with broadcast scalars kept
/// whole: every binary op, a range of unary ops (single-pass, two-pass and composite) and the fused
/// target += scale·source must still equal the float64 reference at every element, for lengths that end
/// exactly on, just past, and between slice boundaries.
/// </summary>
public class CacheSliceTests
{
    private static readonly BinaryOp[] BinaryOps = Enum.GetValues<BinaryOp>();

    private static readonly (UnaryOp Op, double P0, double P1)[] UnaryOps =
    [
        (UnaryOp.Exp, 0, 0), (UnaryOp.Log, 0, 0), (UnaryOp.Sqrt, 0, 0), (UnaryOp.Tanh, 0, 0), (UnaryOp.Sigmoid, 0, 0),
        (UnaryOp.Silu, 0, 0), (UnaryOp.Elu, 1, 0), (UnaryOp.Softplus, 1, 20), (UnaryOp.Clamp, 0.8, 1.5),
        (UnaryOp.Affine, 2, -1), (UnaryOp.PowScalar, 1.5, 0), (UnaryOp.GreaterScalar, 1, 0),
    ];

    /// <summary>Lengths past one slice: on a boundary, one past it, or anywhere up to four slices.</summary>
    private static Gen<int> Length(int slice) =>
        Gen.OneOf(Gen.Elements(slice + 1, 2 * slice, 2 * slice + 17, 3 * slice - 1), Gen.Choose(slice + 1, 4 * slice));

    /// <summary>Values on a grid of quarters in [0.5, 2]: positive (log, sqrt, pow) and with ties for the comparisons.</summary>
    private static double[] Values(int n, int seed)
    {
        var random = new System.Random(seed);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = 0.5 + 0.25 * random.Next(7);
        return v;
    }

    private static void AssertClose(double expected, double actual, double tolerance, string what)
    {
        if (Math.Abs(expected - actual) > tolerance * (1 + Math.Abs(expected)))
            Assert.Fail($"{what}: got {actual:R}, expected {expected:R}");
    }

    private static double Tolerance<T>() => typeof(T) == typeof(float) ? 1e-5 : 1e-12;

    [Fact]
    public void BinaryOpsOverSeveralSlices()
    {
        Binary<float>();
        Binary<double>();
    }

    private static void Binary<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var gen = from n in Length(CacheSlices.Length<T>())
                  from op in Gen.Elements(BinaryOps)
                  from scalar in Gen.Elements(0, 1, 2)   // none, a scalar, b scalar
                  from seed in Gens.Seed
                  select (n, op, scalar, seed);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            Assert.True(CacheSlices.Split<T>(x.n));
            bool aScalar = x.scalar == 1, bScalar = x.scalar == 2;
            var a = Values(aScalar ? 1 : x.n, x.seed);
            var b = Values(bScalar ? 1 : x.n, x.seed + 1);
            var y = new T[x.n];
            BinarySpan.Apply<T>(x.op, Array.ConvertAll(a, T.CreateTruncating), Array.ConvertAll(b, T.CreateTruncating), y, aScalar, bScalar);
            for (int i = 0; i < x.n; i++)
            {
                double ai = double.CreateTruncating(T.CreateTruncating(a[aScalar ? 0 : i])), bi = double.CreateTruncating(T.CreateTruncating(b[bScalar ? 0 : i]));
                double expected = ElemRef.Binary(x.op, ai, bi);
                AssertClose(expected, double.CreateTruncating(y[i]), Tolerance<T>(), $"{typeof(T).Name} {x.op} n={x.n} scalar={x.scalar} at {i}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
    }

    [Fact]
    public void UnaryOpsOverSeveralSlices()
    {
        Unary<float>();
        Unary<double>();
    }

    private static void Unary<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var gen = from n in Length(CacheSlices.Length<T>())
                  from k in Gen.Choose(0, UnaryOps.Length - 1)
                  from seed in Gens.Seed
                  select (n, k, seed);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var (op, p0, p1) = UnaryOps[x.k];
            var input = Array.ConvertAll(Values(x.n, x.seed), T.CreateTruncating);
            var y = new T[x.n];
            UnarySpan.Apply<T>(op, input, y, p0, p1);
            for (int i = 0; i < x.n; i++)
            {
                double expected = ElemRef.Unary(op, double.CreateTruncating(input[i]), p0, p1);
                AssertClose(expected, double.CreateTruncating(y[i]), Tolerance<T>(), $"{typeof(T).Name} {op} n={x.n} at {i}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
    }

    [Theory]
    [InlineData(DType.Float32, 0.5)]
    [InlineData(DType.Float64, -2.0)]
    public void ScaledAccumulationOverSeveralSlices(DType dtype, double scale)
    {
        int n = 3 * (dtype == DType.Float32 ? CacheSlices.Length<float>() : CacheSlices.Length<double>()) + 5;
        var t0 = Values(n, 1);
        var s = Values(n, 2);
        using var target = Tensor.FromDoubles(t0, new Shape(n), dtype);
        using var source = Tensor.FromDoubles(s, new Shape(n), dtype);
        CpuBackend.AddScaled(target, source, scale);
        var got = target.ToDoubleArray();
        for (int i = 0; i < n; i++) AssertClose(t0[i] + scale * s[i], got[i], 1e-6, $"{dtype} target += {scale}·source at {i}");
    }
}
