using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class CholeskyTests
{
    private static readonly Gen<(int[] Batch, int N, int Seed, DType DType)> Case = MatrixRef.Case;

    [Fact]
    public void FactorReproducesTheMatrixAndIsLowerTriangular() => PropCheck.Run(Case, c =>
    {
        int n = c.N, count = MatrixRef.Count(c.Batch);
        var a = MatrixRef.Spd(count, n, new System.Random(c.Seed));
        using var at = Tensor.FromDoubles(a, new Shape(MatrixRef.With(c.Batch, n, n)), c.DType);
        using var l = Ops.Cholesky(at, out var info);
        using (info)
        {
            Assert.Equal(new Shape(c.Batch), info.Shape);
            Assert.All(info.ToArray<int>(), v => Assert.Equal(0, v));
        }
        var ls = l.ToDoubleArray();
        for (int b = 0; b < count; b++)
        {
            var lb = ls.AsSpan(b * n * n, n * n);
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) Assert.Equal(0.0, lb[i * n + j]);
            // L·Lᵀ, computed as (Lᵀ)ᵀ·Lᵀ with the reference product.
            var lt = new double[n * n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) lt[j * n + i] = lb[i * n + j];
            var product = MatrixRef.MatMul(lt, lt, n, n, transposeA: true);
            var expected = c.DType == DType.Float32 ? a.AsSpan(b * n * n, n * n).ToArray().Select(v => (double)(float)v).ToArray() : a[(b * n * n)..((b + 1) * n * n)];
            Assert.True(MatrixRef.RelativeError(expected, product) < MatrixRef.Tolerance(c.DType, n),
                $"L·Lᵀ differs from A by {MatrixRef.RelativeError(expected, product):E2} (n = {n}, {c.DType.Name()})");
        }
    });

    [Fact]
    public void NonPositiveDefiniteGivesThePivotAndNoException() => PropCheck.Run(
        from n in Gen.Elements(2, 3, 5, 8, 17, 33)
        from pivot in Gen.Choose(0, 100)
        from bad in Gen.Choose(0, 3)
        from seed in Gens.Seed
        from dtype in Gen.Elements(DType.Float64, DType.Float32)
        select (n, pivot: pivot % n, bad, seed, dtype),
        c =>
        {
            // A = L0·L0ᵀ has Schur pivot d_p = L0[p,p]²; lowering A[p,p] by d_p + 1 makes that pivot −1
            // while the rows before p are untouched, so the factorization must fail exactly at p.
            int n = c.n, count = 4;
            var random = new System.Random(c.seed);
            var a = new double[count * n * n];
            for (int b = 0; b < count; b++)
            {
                var l0 = new double[n * n];
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < i; j++) l0[i * n + j] = 2 * random.NextDouble() - 1;
                    l0[i * n + i] = 1 + random.NextDouble();
                }
                var lt = new double[n * n];
                for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) lt[j * n + i] = l0[i * n + j];
                var m = MatrixRef.MatMul(lt, lt, n, n, transposeA: true);
                if (b == c.bad) m[c.pivot * n + c.pivot] -= l0[c.pivot * n + c.pivot] * l0[c.pivot * n + c.pivot] + 1;
                m.CopyTo(a, b * n * n);
            }
            using var at = Tensor.FromDoubles(a, new Shape(count, n, n), c.dtype);
            using var l = Ops.Cholesky(at, out var info);
            using (info)
            {
                var infos = info.ToArray<int>();
                for (int b = 0; b < count; b++) Assert.Equal(b == c.bad ? c.pivot + 1 : 0, infos[b]);
            }
            var e = Assert.Throws<ArgumentException>(() => Ops.Cholesky(at));
            Assert.Contains($"matrix [{c.bad}]", e.Message);
            Assert.Contains($"pivot {c.pivot + 1}", e.Message);
        }, maxTest: 30);

    [Fact]
    public void NanMatrixIsReportedNotThrown()
    {
        using var a = Tensor.FromDoubles([4, 0, 0, double.NaN], new Shape(2, 2), DType.Float64);
        using var l = Ops.Cholesky(a, out var info);
        using (info) Assert.Equal(2, info.ToArray<int>()[0]);
    }

    [Fact]
    public void CholeskySolveSolvesTheSystem() => PropCheck.Run(
        from c in Case
        from k in Gen.Elements(0, 1, 3)
        select (c, k),
        t =>
        {
            var (c, k) = t;
            int n = c.N, count = MatrixRef.Count(c.Batch);
            var random = new System.Random(c.Seed);
            var a = MatrixRef.Spd(count, n, random);
            bool vector = k == 0;
            int columns = vector ? 1 : k;
            var bValues = MatrixRef.Random(count * n * columns, random);
            using var at = Tensor.FromDoubles(a, new Shape(MatrixRef.With(c.Batch, n, n)), c.DType);
            using var bt = Tensor.FromDoubles(bValues, new Shape(vector ? MatrixRef.With(c.Batch, n) : MatrixRef.With(c.Batch, n, k)), c.DType);
            using var l = Ops.Cholesky(at);
            using var x = Ops.CholeskySolve(l, bt);
            Assert.Equal(bt.Shape, x.Shape);
            var xs = x.ToDoubleArray();
            var aUsed = at.ToDoubleArray();
            var bUsed = bt.ToDoubleArray();
            for (int b = 0; b < count; b++)
            {
                var residual = MatrixRef.MatMul(aUsed.AsSpan(b * n * n, n * n), xs.AsSpan(b * n * columns, n * columns), n, columns);
                Assert.True(MatrixRef.RelativeError(bUsed.AsSpan(b * n * columns, n * columns), residual) < MatrixRef.Tolerance(c.DType, n) * 10);
            }
        }, maxTest: 40);

    [Fact]
    public void LargeBatchTakesTheParallelPathWithTheSameResults()
    {
        int n = 16, count = 300;
        var a = MatrixRef.Spd(count, n, new System.Random(5));
        using var at = Tensor.FromDoubles(a, new Shape(count, n, n), DType.Float64);
        using var l = Ops.Cholesky(at);
        using var one = Ops.Cholesky(at.Narrow(0, 123, 1));
        Assert.Equal(one.ToDoubleArray(), l.Narrow(0, 123, 1).ToDoubleArray());
    }

    [Fact]
    public void ShapeErrorsNameOpAndShapes()
    {
        using var a = Tensor.Zeros(new Shape(2, 3, 4));
        var e = Assert.Throws<TensorShapeException>(() => Ops.Cholesky(a, out _));
        Assert.Contains("cholesky", e.Message);
        Assert.Contains("[2, 3, 4]", e.Message);
        using var ints = Tensor.Zeros(new Shape(2, 2), DType.Int32);
        Assert.Throws<ArgumentException>(() => Ops.Cholesky(ints, out _));
    }
}
