using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Matmul;

/// <summary>
/// Ops.RowMatmulBackward (the batch-1 backward of y = a·B: gradA = gy·Bᵀ, gradB = aᵀ·gy) against float64 naive
/// loops: random extents incl. one row or one column of B, B large enough to be split between the cores,
/// float32 and float64, written or accumulated gradB, either result absent, and a strided (non-dense) B.
/// </summary>
public class RowMatmulBackwardTests
{
    private static double[] Data(System.Random random, int n) => Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1).ToArray();

    [Fact]
    public void MatchesNaiveOnRandomSizes() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), Prop.ForAll(
            (from k in Gens.Extent() from n in Gens.Extent() from seed in Gens.Seed select (k, n, seed)).ToArbitrary(), s =>
            {
                foreach (var dtype in new[] { DType.Float32, DType.Float64 })
                    Case(s.k, s.n, s.seed, dtype, accumulate: s.seed % 2 == 0, wantA: s.seed % 3 != 0, wantB: s.seed % 5 != 0, transposedB: false);
            }));

    [Theory]
    [InlineData(512, 512)]  // a 512-wide layer's g·W: split between the cores
    [InlineData(512, 56)]
    [InlineData(50, 512)]
    [InlineData(1, 512)]
    [InlineData(512, 1)]
    [InlineData(37, 4099)]
    public void MatchesNaiveOnMlpShapes(int k, int n)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        foreach (bool accumulate in new[] { false, true })
            Case(k, n, k + n, dtype, accumulate, wantA: true, wantB: true, transposedB: false);
    }

    [Fact]
    public void StridedOperandTakesTheGeneralPath()
    {
        Case(9, 13, 5, DType.Float32, accumulate: true, wantA: true, wantB: false, transposedB: true);
        Case(64, 40, 6, DType.Float64, accumulate: false, wantA: true, wantB: false, transposedB: true);
    }

    [Fact]
    public void RejectsMoreThanOneRow()
    {
        using var a = Tensor.Zeros(new Shape(2, 3), DType.Float32);
        using var b = Tensor.Zeros(new Shape(3, 4), DType.Float32);
        using var gy = Tensor.Zeros(new Shape(2, 4), DType.Float32);
        var e = Assert.Throws<TensorShapeException>(() => Ops.RowMatmulBackward(a, b, gy, null, null, false));
        Assert.Contains("row matmul backward", e.Message);
    }

    private static void Case(int k, int n, int seed, DType dtype, bool accumulate, bool wantA, bool wantB, bool transposedB)
    {
        var random = new System.Random(seed);
        using var a = Tensor.FromDoubles(Data(random, k), new Shape(1, k)).Cast(dtype);
        using var gy = Tensor.FromDoubles(Data(random, n), new Shape(1, n)).Cast(dtype);
        var bData = Data(random, k * n);
        using var bDense = Tensor.FromDoubles(bData, transposedB ? new Shape(n, k) : new Shape(k, n)).Cast(dtype);
        using var b = transposedB ? bDense.Transpose(0, 1) : bDense.Expand(bDense.Shape);
        var prior = Data(random, k * n);
        using var gradB = Tensor.FromDoubles(prior, new Shape(k, n)).Cast(dtype);
        using var gradA = Tensor.FromDoubles(Data(random, k), new Shape(1, k)).Cast(dtype); // overwritten
        Ops.RowMatmulBackward(a, b, gy, wantA ? gradA : null, wantB ? gradB : null, accumulate);

        double[] av = a.ToDoubleArray(), gv = gy.ToDoubleArray(), bv = b.Contiguous().ToDoubleArray();
        double[] gotA = gradA.ToDoubleArray(), gotB = gradB.ToDoubleArray(), priorCast = Tensor.FromDoubles(prior, new Shape(k * n)).Cast(dtype).ToDoubleArray();
        double eps = dtype == DType.Float32 ? 2e-6 : 1e-13;
        for (int i = 0; i < k; i++)
        {
            if (wantA)
            {
                double dot = 0, scale = 0;
                for (int j = 0; j < n; j++) { dot += bv[i * n + j] * gv[j]; scale += Math.Abs(bv[i * n + j] * gv[j]); }
                if (!(Math.Abs(gotA[i] - dot) <= eps * (scale + 1)))
                    Assert.Fail($"row matmul backward {dtype} [1,{k}]·[{k},{n}]: gradA[{i}] = {gotA[i]:R}, expected {dot:R}");
            }
            for (int j = 0; j < n; j++)
            {
                double expected = wantB ? av[i] * gv[j] + (accumulate ? priorCast[i * n + j] : 0) : priorCast[i * n + j];
                if (!(Math.Abs(gotB[i * n + j] - expected) <= eps * 4))
                    Assert.Fail($"row matmul backward {dtype} [1,{k}]·[{k},{n}] accumulate={accumulate}: gradB[{i},{j}] = {gotB[i * n + j]:R}, expected {expected:R}");
            }
        }
    }
}
