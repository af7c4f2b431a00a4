using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Elementwise;

/// <summary>
/// The 256-bit kernel for large add/sub/mul/div (StreamingBinary) against a naive loop, bit for bit (each lane is
/// one IEEE operation): lengths 1, primes and non-multiples of the vector widths, separate outputs and outputs
/// that are an input itself; and through Ops for lengths around the cache-slice length, where Ops switches to it.
/// </summary>
public class StreamingBinaryTests
{
    private static readonly BinaryOp[] Ops4 = [BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div];

    private static double Naive(BinaryOp op, double a, double b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        _ => a / b,
    };

    private static float Naive(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        _ => a / b,
    };

    /// <summary>Values in [-3, 3] with a few zeros (division by zero gives ±inf or NaN in both).</summary>
    private static double[] Values(int n, int seed)
    {
        var random = new System.Random(seed);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = random.Next(10) == 0 ? 0 : random.NextDouble() * 6 - 3;
        return v;
    }

    /// <summary>0 = separate output, 1 = y is a, 2 = y is b.</summary>
    private static Gen<(int N, BinaryOp Op, int Alias, int Seed)> Cases =>
        from n in Gen.OneOf(Gens.Extent(300), Gen.Elements(1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 97, 1021, 4099))
        from op in Gen.Elements(Ops4)
        from alias in Gen.Choose(0, 2)
        from seed in Gens.Seed
        select (n, op, alias, seed);

    [Fact]
    public void Float32EqualsNaiveLoop() =>
        Prop.ForAll(Cases.ToArbitrary(), x =>
        {
            var a = Array.ConvertAll(Values(x.N, x.Seed), v => (float)v);
            var b = Array.ConvertAll(Values(x.N, x.Seed + 1), v => (float)v);
            var expected = new float[x.N];
            for (int i = 0; i < x.N; i++) expected[i] = Naive(x.Op, a[i], b[i]);
            var y = x.Alias == 1 ? a : x.Alias == 2 ? b : new float[x.N];
            StreamingBinary.Apply<float>(x.Op, a, b, y);
            for (int i = 0; i < x.N; i++)
                Assert.True(expected[i].Equals(y[i]), $"{x.Op} n={x.N} alias={x.Alias} at {i}: {y[i]:R} vs {expected[i]:R}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    [Fact]
    public void Float64EqualsNaiveLoop() =>
        Prop.ForAll(Cases.ToArbitrary(), x =>
        {
            var a = Values(x.N, x.Seed);
            var b = Values(x.N, x.Seed + 1);
            var expected = new double[x.N];
            for (int i = 0; i < x.N; i++) expected[i] = Naive(x.Op, a[i], b[i]);
            var y = x.Alias == 1 ? a : x.Alias == 2 ? b : new double[x.N];
            StreamingBinary.Apply<double>(x.Op, a, b, y);
            for (int i = 0; i < x.N; i++)
                Assert.True(expected[i].Equals(y[i]), $"{x.Op} n={x.N} alias={x.Alias} at {i}: {y[i]:R} vs {expected[i]:R}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    [Fact]
    public void OpsAroundTheSliceLengthEqualNaiveLoop()
    {
        // Around one and two slices (where Ops moves to this kernel) and past the two-core threshold.
        int slice = CacheSlices.Length<float>();
        var gen = from n in Gen.Elements(slice - 1, slice, slice + 1, slice + 13, 2 * slice + 7, Parallelism.MinElements + 3, 100_003)
                  from op in Gen.Elements(Ops4)
                  from inPlace in Gen.Elements(false, true)
                  from seed in Gens.Seed
                  select (n, op, inPlace, seed);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var av = Array.ConvertAll(Values(x.n, x.seed), v => (float)v);
            var bv = Array.ConvertAll(Values(x.n, x.seed + 1), v => (float)v);
            var expected = new float[x.n];
            for (int i = 0; i < x.n; i++) expected[i] = Naive(x.op, av[i], bv[i]);
            using var a = Tensor.FromArray<float>(av, new Shape(x.n));
            using var b = Tensor.FromArray<float>(bv, new Shape(x.n));
            using var fresh = Tensor.Empty(new Shape(x.n));
            var y = x.inPlace ? a : fresh;
            Engine.Ops.Binary(x.op, a, b, y);
            var got = y.ToArray<float>();
            for (int i = 0; i < x.n; i++)
                Assert.True(expected[i].Equals(got[i]), $"{x.op} n={x.n} inPlace={x.inPlace} at {i}: {got[i]:R} vs {expected[i]:R}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
    }

    [Fact]
    public void PartlyOverlappingOutputIsRejectedLikeTensorPrimitives()
    {
        var data = new float[100];
        Assert.ThrowsAny<ArgumentException>(() => StreamingBinary.Apply<float>(BinaryOp.Add, data.AsSpan(0, 50), data.AsSpan(50, 50), data.AsSpan(1, 50)));
    }
}
