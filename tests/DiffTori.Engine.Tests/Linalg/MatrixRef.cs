using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

/// <summary>Reference dense matrix helpers (row-major double[] per matrix) and generators for the linalg tests.</summary>
internal static class MatrixRef
{
    /// <summary>The trajectory optimizer's sizes plus awkward ones.</summary>
    public static readonly int[] Sizes = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64];

    public static readonly Gen<int[]> BatchShape = Gen.Elements<int[]>([], [1], [3], [2, 3], [5], [1, 4]);

    /// <summary>A batch of square matrices: batch shape, size, data seed and dtype.</summary>
    public static readonly Gen<(int[] Batch, int N, int Seed, DType DType)> Case =
        from batch in BatchShape
        from n in Gen.Elements(Sizes)
        from seed in Gens.Seed
        from dtype in Gen.Elements(DType.Float64, DType.Float32)
        select (batch, n, seed, dtype);

    public static int Count(int[] batch) => batch.Aggregate(1, (p, d) => p * d);

    public static int[] With(int[] batch, params int[] tail) => [.. batch, .. tail];

    public static double[] Random(int length, System.Random random, double scale = 1)
    {
        var v = new double[length];
        for (int i = 0; i < v.Length; i++) v[i] = scale * (2 * random.NextDouble() - 1);
        return v;
    }

    /// <summary>C = op(A)·B for one n×n A and n×k B.</summary>
    public static double[] MatMul(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int n, int k, bool transposeA = false)
    {
        var c = new double[n * k];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double aij = transposeA ? a[j * n + i] : a[i * n + j];
                for (int q = 0; q < k; q++) c[i * k + q] += aij * b[j * k + q];
            }
        return c;
    }

    /// <summary>A batch of SPD matrices MᵀM + n·I.</summary>
    public static double[] Spd(int count, int n, System.Random random)
    {
        var a = new double[count * n * n];
        for (int b = 0; b < count; b++)
        {
            var m = Random(n * n, random);
            var spd = MatMul(m, m, n, n, transposeA: true);
            for (int i = 0; i < n; i++) spd[i * n + i] += n;
            spd.CopyTo(a, b * n * n);
        }
        return a;
    }

    public static double MaxAbs(ReadOnlySpan<double> v)
    {
        double m = 0;
        foreach (var x in v) m = Math.Max(m, Math.Abs(x));
        return m;
    }

    /// <summary>max |expected − actual| / (1 + max |expected|).</summary>
    public static double RelativeError(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        double err = 0;
        for (int i = 0; i < expected.Length; i++) err = Math.Max(err, Math.Abs(expected[i] - actual[i]));
        return err / (1 + MaxAbs(expected));
    }

    public static double Tolerance(DType dtype, int n) => dtype == DType.Float64 ? 1e-10 : 2e-5 * Math.Max(1, n);
}
