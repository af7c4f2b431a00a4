using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class TriangularSolveTests
{
    [Fact]
    public void ResidualIsSmallForEveryFlagCombination() => PropCheck.Run(
        from batch in MatrixRef.BatchShape
        from n in Gen.Elements(MatrixRef.Sizes)
        from k in Gen.Elements(0, 1, 2, 5, 17)
        from lower in Gen.Elements(true, false)
        from transpose in Gen.Elements(true, false)
        from unit in Gen.Elements(true, false)
        from seed in Gens.Seed
        from dtype in Gen.Elements(DType.Float64, DType.Float32)
        select (batch, n, k, lower, transpose, unit, seed, dtype),
        c =>
        {
            int n = c.n, count = MatrixRef.Count(c.batch);
            bool vector = c.k == 0;
            int columns = vector ? 1 : c.k;
            var random = new System.Random(c.seed);
            // The used triangle is well conditioned (diagonal 1..2, off-diagonal scaled by 1/n); the
            // other triangle (and, with unitDiagonal, the diagonal) holds junk that must be ignored.
            var a = new double[count * n * n];
            var effective = new double[count * n * n];
            for (int b = 0; b < count; b++)
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                    {
                        int e = b * n * n + i * n + j;
                        bool used = c.lower ? j < i : j > i;
                        if (i == j)
                        {
                            a[e] = c.unit ? 1000 : 1 + random.NextDouble();
                            effective[e] = c.unit ? 1 : a[e];
                        }
                        else if (used) effective[e] = a[e] = (2 * random.NextDouble() - 1) / n;
                        else a[e] = 777;
                    }
            var bValues = MatrixRef.Random(count * n * columns, random);
            using var at = Tensor.FromDoubles(a, new Shape(MatrixRef.With(c.batch, n, n)), c.dtype);
            using var bt = Tensor.FromDoubles(bValues, new Shape(vector ? MatrixRef.With(c.batch, n) : MatrixRef.With(c.batch, n, c.k)), c.dtype);
            using var x = Ops.TriangularSolve(at, bt, c.lower, c.transpose, c.unit);
            Assert.Equal(bt.Shape, x.Shape);
            var xs = x.ToDoubleArray();
            var bUsed = bt.ToDoubleArray();
            var aUsed = Tensor.FromDoubles(effective, new Shape(effective.Length), c.dtype).ToDoubleArray();
            for (int b = 0; b < count; b++)
            {
                var product = MatrixRef.MatMul(aUsed.AsSpan(b * n * n, n * n), xs.AsSpan(b * n * columns, n * columns), n, columns, c.transpose);
                double err = MatrixRef.RelativeError(bUsed.AsSpan(b * n * columns, n * columns), product);
                Assert.True(err < MatrixRef.Tolerance(c.dtype, n), $"residual {err:E2} (n = {n}, k = {c.k}, {c.dtype.Name()})");
            }
        }, maxTest: 80);

    [Fact]
    public void BatchAxesBroadcastBetweenMatrixAndRightHandSide()
    {
        int n = 4, k = 2;
        var random = new System.Random(2);
        var a = new double[2 * n * n];
        for (int i = 0; i < a.Length; i++) a[i] = (i % (n * n)) % (n + 1) == 0 ? 2 : 0.3 * (2 * random.NextDouble() - 1);
        using var at = Tensor.FromDoubles(a, new Shape(2, 1, n, n), DType.Float64);
        using var bt = Tensor.FromDoubles(MatrixRef.Random(3 * n * k, random), new Shape(3, n, k), DType.Float64);
        using var x = Ops.TriangularSolve(at, bt, lower: true);
        Assert.Equal(new Shape(2, 3, n, k), x.Shape);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
            {
                using var ai = at.Select(0, i).Select(0, 0);
                using var bj = bt.Select(0, j);
                using var single = Ops.TriangularSolve(ai, bj, lower: true);
                using var part = x.Select(0, i).Select(0, j);
                Assert.Equal(single.ToDoubleArray(), part.ToDoubleArray());
            }
    }

    [Fact]
    public void ShapeErrorsNameOpAndShapes()
    {
        using var a = Tensor.Zeros(new Shape(2, 3, 3));
        using var b = Tensor.Zeros(new Shape(2, 4, 1));
        var e = Assert.Throws<TensorShapeException>(() => Ops.TriangularSolve(a, b, lower: true));
        Assert.Contains("triangular_solve", e.Message);
        Assert.Contains("[2, 3, 3]", e.Message);
        Assert.Contains("[2, 4, 1]", e.Message);
        using var b2 = Tensor.Zeros(new Shape(5, 3, 1));
        var e2 = Assert.Throws<TensorShapeException>(() => Ops.TriangularSolve(a, b2, lower: true));
        Assert.Contains("broadcast", e2.Message);
        using var b3 = Tensor.Zeros(new Shape(2, 3, 1), DType.Float64);
        Assert.Throws<ArgumentException>(() => Ops.TriangularSolve(a, b3, lower: true));
    }
}
