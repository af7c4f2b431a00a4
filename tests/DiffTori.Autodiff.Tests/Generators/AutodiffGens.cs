using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Autodiff.Tests;

/// <summary>
/// FsCheck generators for gradient tests: small shapes (finite differences cost two evaluations per
/// element), broadcastable pairs, values kept away from kinks and singularities, SPD matrices.
/// All data is float64 and reproducible from a seed.
/// </summary>
public static class AutodiffGens
{
    public static Gen<int> Seed => Gen.Choose(0, int.MaxValue - 1);

    public static Gen<int> Extent(int max = 4) => Gen.Choose(1, max);

    /// <summary>A shape of rank in [minRank, maxRank] with extents 1..maxExtent.</summary>
    public static Gen<Shape> Shape(int minRank = 0, int maxRank = 3, int maxExtent = 4) =>
        from rank in Gen.Choose(minRank, maxRank)
        from dims in Gen.ArrayOf(Extent(maxExtent), rank)
        select new Shape(dims);

    /// <summary>Two shapes that broadcast together: some axes of each set to 1, some leading axes dropped.</summary>
    public static Gen<(Shape A, Shape B)> BroadcastablePair(int maxRank = 3, int maxExtent = 4) =>
        from full in Shape(1, maxRank, maxExtent)
        from keepA in Gen.ArrayOf(Gen.Elements(true, true, false), full.Rank)
        from keepB in Gen.ArrayOf(Gen.Elements(true, true, false), full.Rank)
        from dropA in Gen.Choose(0, full.Rank)
        from dropB in Gen.Choose(0, full.Rank)
        select (Derive(full, keepA, dropA), Derive(full, keepB, dropB));

    /// <summary>Uniform values in [low, high).</summary>
    public static Tensor Values(in Shape shape, int seed, double low = -2, double high = 2) =>
        Tensor.FromDoubles(Doubles(shape.Length, seed, low, high), shape, DType.Float64);

    /// <summary>Values with |v| in [min, max] and a random sign: no kinks at 0 within finite-difference reach.</summary>
    public static Tensor AwayFromZero(in Shape shape, int seed, double min = 0.2, double max = 2)
    {
        var r = new Random(seed);
        var v = new double[shape.Length];
        for (int i = 0; i < v.Length; i++) v[i] = (r.Next(2) == 0 ? -1 : 1) * (min + (max - min) * r.NextDouble());
        return Tensor.FromDoubles(v, shape, DType.Float64);
    }

    /// <summary>A random permutation of evenly spaced values: no two elements closer than spacing (no ties for max/min/pooling).</summary>
    public static Tensor Distinct(in Shape shape, int seed, double spacing = 0.1)
    {
        var r = new Random(seed);
        var v = new double[shape.Length];
        for (int i = 0; i < v.Length; i++) v[i] = (i - v.Length / 2.0) * spacing;
        r.Shuffle(v);
        return Tensor.FromDoubles(v, shape, DType.Float64);
    }

    /// <summary>Batched matrices n×n, each I·n + noise: well conditioned, suitable for Solve and Inverse.</summary>
    public static Tensor WellConditioned(int batch, int n, int seed)
    {
        int count = Math.Max(batch, 1);
        var v = Doubles(count * n * n, seed, -0.5, 0.5);
        for (int b = 0; b < count; b++)
            for (int i = 0; i < n; i++) v[b * n * n + i * n + i] += n;
        return Tensor.FromDoubles(v, batch == 0 ? new Shape(n, n) : new Shape(batch, n, n), DType.Float64);
    }

    /// <summary>Batched symmetric positive-definite matrices M·Mᵀ + n·I (batch 0 = a single [n, n]).</summary>
    public static Tensor Spd(int batch, int n, int seed)
    {
        int count = Math.Max(batch, 1);
        var m = Doubles(count * n * n, seed, -1, 1);
        var a = new double[count * n * n];
        for (int b = 0; b < count; b++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = i == j ? n : 0;
                    for (int k = 0; k < n; k++) s += m[b * n * n + i * n + k] * m[b * n * n + j * n + k];
                    a[b * n * n + i * n + j] = s;
                }
        return Tensor.FromDoubles(a, batch == 0 ? new Shape(n, n) : new Shape(batch, n, n), DType.Float64);
    }

    /// <summary>Batched triangular matrices with diagonal in [1, 2] (the other triangle holds junk that must be ignored).</summary>
    public static Tensor Triangular(int batch, int n, int seed, bool lower)
    {
        int count = Math.Max(batch, 1);
        var v = Doubles(count * n * n, seed, -0.5, 0.5);
        var r = new Random(seed + 1);
        for (int b = 0; b < count; b++)
            for (int i = 0; i < n; i++)
                v[b * n * n + i * n + i] = (r.Next(2) == 0 ? -1 : 1) * (1 + r.NextDouble());
        return Tensor.FromDoubles(v, batch == 0 ? new Shape(n, n) : new Shape(batch, n, n), DType.Float64);
    }

    /// <summary>Int32 indices in [0, n).</summary>
    public static Tensor Indices(in Shape shape, int n, int seed)
    {
        var r = new Random(seed);
        var v = new int[shape.Length];
        for (int i = 0; i < v.Length; i++) v[i] = r.Next(n);
        return Tensor.FromArray<int>(v, shape);
    }

    public static double[] Doubles(int count, int seed, double low, double high)
    {
        var r = new Random(seed);
        var v = new double[count];
        for (int i = 0; i < v.Length; i++) v[i] = low + (high - low) * r.NextDouble();
        return v;
    }

    private static Shape Derive(Shape full, bool[] keep, int drop)
    {
        var dims = full.ToArray();
        for (int i = 0; i < dims.Length; i++) if (!keep[i]) dims[i] = 1;
        return new Shape(dims[Math.Min(drop, dims.Length)..]);
    }
}
