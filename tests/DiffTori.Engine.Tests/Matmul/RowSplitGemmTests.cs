using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Matmul;

/// <summary>
/// Small single products (between GemmConfig.SmallParallelThreshold and ParallelThreshold multiply-adds) are
/// split in bands of whole row tiles between the threads. Each band, for any number of bands, and the split
/// call itself (repeated, so that later calls come in a burst and really fork) must equal a naive float64 product.
/// </summary>
public class RowSplitGemmTests
{
    /// <summary>Sizes of the row-split range: M ≥ 2·MR, N past the few-columns path, K so that M·N·K lands in range.</summary>
    private static Gen<(int M, int N, int K)> SplitSizes =>
        from m in Gen.Choose(2 * GemmConfig.MR, 95)
        from n in Gen.Choose(GemmConfig.SmallExtent + 1, 97)
        from extra in Gen.Choose(0, 40)
        let k = (int)Math.Max(1, (GemmConfig.SmallParallelThreshold + (long)m * n - 1) / ((long)m * n)) + extra
        where (long)m * n * k < GemmConfig.ParallelThreshold
        select (m, n, k);

    private static (Tensor A, Tensor B, double[] C0, double[] Expected) Case(DType dtype, int m, int n, int k, bool ta, bool tb,
        double alpha, double beta, int seed)
    {
        var aShape = ta ? new Shape(k, m) : new Shape(m, k);
        var bShape = tb ? new Shape(n, k) : new Shape(k, n);
        var a = Gens.Data(aShape, seed);
        var b = Gens.Data(bShape, seed + 1);
        var c0 = Gens.Data(new Shape(m, n), seed + 2);
        var expected = GemmTests.Naive(a, b, c0, 1, m, n, k, ta, tb, alpha, beta, 0, 0);
        return (Tensor.FromDoubles(a, aShape, dtype), Tensor.FromDoubles(b, bShape, dtype), c0, expected);
    }

    private static double Tolerance(DType dtype, int k) => dtype == DType.Float32 ? 8e-5 * Math.Sqrt(k + 1) : 1e-12 * (k + 1);

    [Fact]
    public void SplitCallsEqualNaiveProduct()
    {
        var gen = from s in SplitSizes
                  from ta in Gen.Elements(false, true) from tb in Gen.Elements(false, true)
                  from alpha in Gen.Elements(1.0, -0.5) from beta in Gen.Elements(0.0, 1.0, 0.25)
                  from f32 in Gen.Elements(false, true) from seed in Gens.Seed
                  select (s.M, s.N, s.K, ta, tb, alpha, beta, f32, seed);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var dtype = x.f32 ? DType.Float32 : DType.Float64;
            var (a, b, c0, expected) = Case(dtype, x.M, x.N, x.K, x.ta, x.tb, x.alpha, x.beta, x.seed);
            using var _a = a;
            using var _b = b;
            var spec = new GemmSpec(1, x.M, x.N, x.K, x.ta, x.tb, x.alpha, x.beta, 0, 0, x.M * x.N);
            Assert.True(RowSplitJob<float>.Applies(spec), $"{x.M}x{x.K}x{x.N} should take the row-split path");
            // Several calls back to back: the first may run inline, later ones come in a burst and fork.
            for (int call = 0; call < 4; call++)
            {
                using var c = Tensor.FromDoubles(c0, new Shape(x.M, x.N), dtype);
                Device.Cpu.Backend.Gemm(a, b, c, spec);
                Close.Assert(expected, c.ToDoubleArray(), Tolerance(dtype, x.K),
                    $"row-split gemm call {call} {dtype} {x.M}x{x.K}x{x.N} ta={x.ta} tb={x.tb} alpha={x.alpha} beta={x.beta}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    [Fact]
    public void BandsTileTheRowsForAnyNumberOfParts()
    {
        var gen = from s in SplitSizes
                  from parts in Gen.Choose(1, 5)
                  from ta in Gen.Elements(false, true) from tb in Gen.Elements(false, true)
                  from seed in Gens.Seed
                  select (s.M, s.N, s.K, parts, ta, tb, seed);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var (a, b, _, expected) = Case(DType.Float32, x.M, x.N, x.K, x.ta, x.tb, 1, 0, x.seed);
            using var _a = a;
            using var _b = b;
            // NaN in C: a row no band writes (or one written twice with beta = 1) would show.
            var c = new float[x.M * x.N];
            Array.Fill(c, float.NaN);
            var g = new GemmOperands<float>
            {
                A = a.CpuArray<float>(), B = b.CpuArray<float>(), C = c, M = x.M, N = x.N, K = x.K,
                TransA = x.ta, TransB = x.tb, Alpha = 1, Beta = 0,
            };
            for (int p = 0; p < x.parts; p++) RowSplitJob<float>.Band(g, p, x.parts);
            Close.Assert(expected, Array.ConvertAll(c, v => (double)v), Tolerance(DType.Float32, x.K),
                $"{x.parts} bands of {x.M}x{x.K}x{x.N} ta={x.ta} tb={x.tb}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    [Fact]
    public void SplitProductIntoResultAllocatesNothing()
    {
        using var a = Gens.Tensor(new Shape(64, 64), 1, DType.Float32);
        using var b = Gens.Tensor(new Shape(64, 64), 2, DType.Float32);
        using var c = Tensor.Empty(new Shape(64, 64));
        Assert.True(RowSplitJob<float>.Applies(new GemmSpec(1, 64, 64, 64, false, false, 1, 0, 0, 0, 0)));
        for (int i = 0; i < 200; i++) Ops.Matmul(a, b, c);
        Assert.Equal(0, SteadyStateAllocation.AllocatedBy(() => Ops.Matmul(a, b, c), calls: 100));
        var expected = GemmTests.Naive(a.ToDoubleArray(), b.ToDoubleArray(), new double[64 * 64], 1, 64, 64, 64, false, false, 1, 0, 0, 0);
        Close.Assert(expected, c.ToDoubleArray(), 1e-4, "64x64x64");
    }
}
