using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Matmul;

/// <summary>The backend GEMM against a naive float64 triple loop, over awkward sizes and every transpose combination.</summary>
public class GemmTests
{
    /// <summary>C = alpha·op(A)·op(B) + beta·C0 computed naively in float64.</summary>
    internal static double[] Naive(double[] a, double[] b, double[] c0, int batch, int m, int n, int k, bool ta, bool tb,
        double alpha, double beta, int strideA, int strideB)
    {
        var c = new double[batch * m * n];
        for (int t = 0; t < batch; t++)
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++)
            {
                double av = ta ? a[t * strideA + p * m + i] : a[t * strideA + i * k + p];
                double bv = tb ? b[t * strideB + j * k + p] : b[t * strideB + p * n + j];
                s += av * bv;
            }
            int at = t * m * n + i * n + j;
            c[at] = alpha * s + (beta == 0 ? 0 : beta * c0[at]);
        }
        return c;
    }

    private static Gen<int> Size => Gen.Elements(1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33, 47, 64, 67, 100, 129);

    internal static void Check(DType dtype, int batch, int m, int n, int k, bool ta, bool tb, double alpha, double beta, bool broadcastA, bool broadcastB, int seed)
    {
        int sa = broadcastA ? 0 : m * k, sb = broadcastB ? 0 : k * n;
        var aShape = new Shape(broadcastA ? 1 : batch, ta ? k : m, ta ? m : k);
        var bShape = new Shape(broadcastB ? 1 : batch, tb ? n : k, tb ? k : n);
        var cShape = new Shape(batch, m, n);
        var a = Gens.Data(aShape, seed);
        var b = Gens.Data(bShape, seed + 1);
        var c0 = Gens.Data(cShape, seed + 2);
        using var ta_ = Tensor.FromDoubles(a, aShape, dtype);
        using var tb_ = Tensor.FromDoubles(b, bShape, dtype);
        using var tc = Tensor.FromDoubles(c0, cShape, dtype);
        var spec = new GemmSpec(batch, m, n, k, ta, tb, alpha, beta, sa, sb, m * n);
        Device.Cpu.Backend.Gemm(ta_, tb_, tc, spec);
        var expected = Naive(a, b, c0, batch, m, n, k, ta, tb, alpha, beta, sa, sb);
        double tol = dtype == DType.Float32 ? 2e-5 * Math.Sqrt(k + 1) * 4 : 1e-12 * (k + 1);
        Close.Assert(expected, tc.ToDoubleArray(), tol, $"gemm {dtype} b{batch} {m}x{k}x{n} ta={ta} tb={tb} alpha={alpha} beta={beta}");
    }

    [Fact]
    public void AllTransposesBothDtypesRandomSizes()
    {
        var gen = from m in Size from n in Size from k in Size
                  from ta in Gen.Elements(false, true) from tb in Gen.Elements(false, true)
                  from f32 in Gen.Elements(false, true) from seed in Gens.Seed
                  select (m, n, k, ta, tb, f32, seed);
        Prop.ForAll(gen.ToArbitrary(), x =>
            Check(x.f32 ? DType.Float32 : DType.Float64, 1, x.m, x.n, x.k, x.ta, x.tb, 1, 0, false, false, x.seed))
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void AlphaBetaAndBroadcastBatches()
    {
        var gen = from batch in Gen.Choose(1, 4) from m in Size from n in Size from k in Size
                  from ta in Gen.Elements(false, true) from tb in Gen.Elements(false, true)
                  from alpha in Gen.Elements(1.0, -0.5, 2.0) from beta in Gen.Elements(0.0, 1.0, 0.25)
                  from bcA in Gen.Elements(false, true) from bcB in Gen.Elements(false, true)
                  from f32 in Gen.Elements(false, true) from seed in Gens.Seed
                  select (batch, m, n, k, ta, tb, alpha, beta, bcA, bcB, f32, seed);
        Prop.ForAll(gen.ToArbitrary(), x =>
            Check(x.f32 ? DType.Float32 : DType.Float64, x.batch, x.m, x.n, x.k, x.ta, x.tb, x.alpha, x.beta, x.bcA, x.bcB, x.seed))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Theory]
    [InlineData(300, 257, 129, false, false)]
    [InlineData(129, 300, 257, true, true)]
    [InlineData(257, 129, 300, true, false)]
    [InlineData(1, 300, 56, false, true)]
    [InlineData(300, 1, 200, false, false)]
    [InlineData(150, 100, 1100, false, false)]
    [InlineData(100, 150, 700, true, true)]
    [InlineData(264, 264, 530, false, true)]
    [InlineData(1, 520, 300, false, false)]
    [InlineData(3, 333, 600, true, false)]
    public void LargeParallelProducts(int m, int n, int k, bool ta, bool tb)
    {
        Check(DType.Float32, 1, m, n, k, ta, tb, 1.5, 0.5, false, false, m + n + k);
        Check(DType.Float64, 2, m, n, k, ta, tb, 1, 0, false, true, m * n + k);
    }

    /// <summary>
    /// A large A against few columns (N at most two microkernel panels) is read in place rather than packed;
    /// cover cut-off row tiles, a cut-off column panel, both B layouts, beta and both dtypes.
    /// </summary>
    [Theory]
    [InlineData(333, 50, 400, false, 0.0)]
    [InlineData(517, 61, 300, true, 0.5)]
    [InlineData(260, 32, 530, false, 1.0)]
    [InlineData(301, 23, 700, true, 0.0)]
    public void LargeANarrowColumns(int m, int n, int k, bool tb, double beta)
    {
        Check(DType.Float32, 1, m, n, k, false, tb, 1, beta, false, false, m + n);
        Check(DType.Float64, 1, m, n, k, false, tb, 1, beta, false, false, m + k);
    }

    [Fact]
    public void BetaZeroIgnoresGarbageInC()
    {
        using var a = Tensor.Ones(new Shape(20, 30));
        using var b = Tensor.Ones(new Shape(30, 40));
        using var c = Tensor.Full(new Shape(20, 40), double.NaN);
        Device.Cpu.Backend.Gemm(a, b, c, new GemmSpec(1, 20, 40, 30, false, false, 1, 0, 0, 0, 0));
        Assert.All(c.ToDoubleArray(), v => Assert.Equal(30.0, v));
    }

    [Fact]
    public void EmptyInnerDimensionScalesC()
    {
        using var a = Tensor.Empty(new Shape(3, 0));
        using var b = Tensor.Empty(new Shape(0, 4));
        using var c = Tensor.Full(new Shape(3, 4), 2.0);
        Device.Cpu.Backend.Gemm(a, b, c, new GemmSpec(1, 3, 4, 0, false, false, 1, 0.5, 0, 0, 0));
        Assert.All(c.ToDoubleArray(), v => Assert.Equal(1.0, v));
    }
}
