using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

/// <summary>
/// FsCheck generators shared by the engine's property tests. Extents favour the awkward cases:
/// 1, primes, and sizes that are not multiples of any vector width, up to 300.
/// </summary>
public static class Gens
{
    /// <summary>Extents used for every axis: 1, small primes, near-multiples of 8/16, and a few large ones.</summary>
    public static readonly int[] AwkwardExtents = [1, 2, 3, 5, 7, 8, 9, 13, 15, 16, 17, 31, 33, 64, 67, 127, 129, 257, 300];

    /// <summary>One extent in [1, max], biased to the awkward ones.</summary>
    public static Gen<int> Extent(int max = 300) =>
        Gen.Frequency(
            (3, Gen.Elements(AwkwardExtents.Where(e => e <= max).ToArray())),
            (1, Gen.Choose(1, max)));

    /// <summary>A shape of rank in [minRank, maxRank] whose element count stays at most maxElements.</summary>
    public static Gen<Shape> Shape(int minRank = 0, int maxRank = 4, int maxElements = 20_000, int maxExtent = 300) =>
        from rank in Gen.Choose(minRank, maxRank)
        from dims in Gen.ArrayOf(Extent(maxExtent), rank)
        select Fit(dims, maxElements);

    /// <summary>Two shapes that broadcast together (some axes set to 1, some leading axes dropped).</summary>
    public static Gen<(Shape A, Shape B)> BroadcastablePair(int maxRank = 4, int maxElements = 20_000) =>
        from full in Shape(1, maxRank, maxElements)
        from maskA in Gen.ArrayOf(Gen.Choose(0, 3), full.Rank)
        from maskB in Gen.ArrayOf(Gen.Choose(0, 3), full.Rank)
        from dropA in Gen.Choose(0, full.Rank)
        from dropB in Gen.Choose(0, full.Rank)
        select (Derive(full, maskA, dropA), Derive(full, maskB, dropB));

    /// <summary>A seed for <see cref="Data"/>.</summary>
    public static Gen<int> Seed => Gen.Choose(0, int.MaxValue - 1);

    /// <summary>Reproducible values in [low, high) for a shape.</summary>
    public static double[] Data(Shape shape, int seed, double low = -2, double high = 2)
    {
        var random = new System.Random(seed);
        var v = new double[shape.Length];
        for (int i = 0; i < v.Length; i++) v[i] = low + (high - low) * random.NextDouble();
        return v;
    }

    /// <summary>A tensor of the given dtype filled with <see cref="Data"/>.</summary>
    public static Tensor Tensor(Shape shape, int seed, DType dtype = DType.Float64, double low = -2, double high = 2) =>
        Engine.Tensor.FromDoubles(Data(shape, seed, low, high), shape, dtype);

    private static Shape Fit(int[] dims, int maxElements)
    {
        // Halve the largest axis until the tensor is small enough for a fast test.
        while (dims.Aggregate(1L, (p, d) => p * d) > maxElements)
        {
            int i = Array.IndexOf(dims, dims.Max());
            dims[i] = Math.Max(1, dims[i] / 2);
        }
        return new Shape(dims);
    }

    private static Shape Derive(Shape full, int[] mask, int drop)
    {
        var dims = full.ToArray();
        for (int i = 0; i < dims.Length; i++) if (mask[i] == 0) dims[i] = 1;
        return new Shape(dims[Math.Min(drop, dims.Length - 1)..]);
    }
}

/// <summary>Assertions on arrays of numbers with a mixed absolute/relative tolerance.</summary>
public static class Close
{
    public static void Assert(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance, string what = "values")
    {
        Xunit.Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (e == a) continue;
            double err = Math.Abs(e - a);
            if (!(err <= tolerance * (1 + Math.Abs(e))))
                Xunit.Assert.Fail($"{what}: index {i}: expected {e:R}, got {a:R} (error {err:E3} > tolerance {tolerance:E1})");
        }
    }

    /// <summary>Tolerance that suits a dtype for well-conditioned elementwise work.</summary>
    public static double For(DType dtype) => dtype == DType.Float32 ? 2e-5 : 1e-12;
}
