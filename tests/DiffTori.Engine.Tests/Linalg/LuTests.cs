using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class LuTests
{
    private static readonly Gen<(int[] Batch, int N, int Seed, DType DType)> Case = MatrixRef.Case;

    /// <summary>Random matrices, diagonally weighted so they are comfortably invertible, with A[0,0] = 0 to force a row swap.</summary>
    private static double[] Matrices(int count, int n, System.Random random)
    {
        var a = MatrixRef.Random(count * n * n, random);
        for (int b = 0; b < count; b++)
        {
            for (int i = 0; i < n; i++) a[b * n * n + i * n + (n - 1 - i)] += 3;   // heavy anti-diagonal: pivoting is needed
            if (n > 1) a[b * n * n] = 0;
        }
        return a;
    }

    [Fact]
    public void FactorsSatisfyPermutedAEqualsLU() => PropCheck.Run(Case, c =>
    {
        int n = c.N, count = MatrixRef.Count(c.Batch);
        var a = Matrices(count, n, new System.Random(c.Seed));
        using var at = Tensor.FromDoubles(a, new Shape(MatrixRef.With(c.Batch, n, n)), c.DType);
        using var lu = Ops.LuFactor(at, out var pivots, out var info);
        using (pivots)
        using (info)
        {
            Assert.Equal(new Shape(MatrixRef.With(c.Batch, n)), pivots.Shape);
            Assert.All(info.ToArray<int>(), v => Assert.Equal(0, v));
            var luValues = lu.ToDoubleArray();
            var pivotValues = pivots.ToArray<int>();
            var aUsed = at.ToDoubleArray();
            for (int b = 0; b < count; b++)
            {
                // Apply the recorded swaps to A, then compare with L·U.
                var pa = aUsed[(b * n * n)..((b + 1) * n * n)];
                for (int i = 0; i < n; i++)
                {
                    int p = pivotValues[b * n + i];
                    Assert.InRange(p, i, n - 1);
                    for (int j = 0; j < n; j++) (pa[i * n + j], pa[p * n + j]) = (pa[p * n + j], pa[i * n + j]);
                }
                var lt = new double[n * n];   // Lᵀ
                var u = new double[n * n];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double v = luValues[b * n * n + i * n + j];
                        if (j < i) lt[j * n + i] = v;
                        else u[i * n + j] = v;
                    }
                for (int i = 0; i < n; i++) lt[i * n + i] = 1;
                var product = MatrixRef.MatMul(lt, u, n, n, transposeA: true);
                Assert.True(MatrixRef.RelativeError(pa, product) < MatrixRef.Tolerance(c.DType, n), $"P·A vs L·U: {MatrixRef.RelativeError(pa, product):E2}");
            }
        }
    });

    [Fact]
    public void SolveAndLuSolveHaveSmallResiduals() => PropCheck.Run(
        from c in Case
        from k in Gen.Elements(0, 1, 4)
        select (c, k),
        t =>
        {
            var (c, k) = t;
            int n = c.N, count = MatrixRef.Count(c.Batch);
            bool vector = k == 0;
            int columns = vector ? 1 : k;
            var random = new System.Random(c.Seed);
            using var at = Tensor.FromDoubles(Matrices(count, n, random), new Shape(MatrixRef.With(c.Batch, n, n)), c.DType);
            using var bt = Tensor.FromDoubles(MatrixRef.Random(count * n * columns, random),
                new Shape(vector ? MatrixRef.With(c.Batch, n) : MatrixRef.With(c.Batch, n, k)), c.DType);
            using var x = Ops.Solve(at, bt);
            using var lu = Ops.LuFactor(at, out var pivots, out var info);
            using var x2 = Ops.LuSolve(lu, pivots, bt);
            pivots.Dispose();
            info.Dispose();
            Assert.Equal(bt.Shape, x.Shape);
            Assert.Equal(x.ToDoubleArray(), x2.ToDoubleArray());
            var aUsed = at.ToDoubleArray();
            var bUsed = bt.ToDoubleArray();
            var xs = x.ToDoubleArray();
            for (int b = 0; b < count; b++)
            {
                var product = MatrixRef.MatMul(aUsed.AsSpan(b * n * n, n * n), xs.AsSpan(b * n * columns, n * columns), n, columns);
                double err = MatrixRef.RelativeError(bUsed.AsSpan(b * n * columns, n * columns), product);
                Assert.True(err < MatrixRef.Tolerance(c.DType, n) * 10, $"residual {err:E2} (n = {n}, {c.DType.Name()})");
            }
        }, maxTest: 40);

    [Fact]
    public void InverseTimesAIsIdentity() => PropCheck.Run(Case, c =>
    {
        int n = c.N, count = MatrixRef.Count(c.Batch);
        using var at = Tensor.FromDoubles(Matrices(count, n, new System.Random(c.Seed)), new Shape(MatrixRef.With(c.Batch, n, n)), c.DType);
        using var inverse = Ops.Inverse(at);
        Assert.Equal(at.Shape, inverse.Shape);
        var aUsed = at.ToDoubleArray();
        var inv = inverse.ToDoubleArray();
        var identity = new double[n * n];
        for (int i = 0; i < n; i++) identity[i * n + i] = 1;
        for (int b = 0; b < count; b++)
        {
            var product = MatrixRef.MatMul(inv.AsSpan(b * n * n, n * n), aUsed.AsSpan(b * n * n, n * n), n, n);
            Assert.True(MatrixRef.RelativeError(identity, product) < MatrixRef.Tolerance(c.DType, n) * 10,
                $"inverse·A − I: {MatrixRef.RelativeError(identity, product):E2}");
        }
    }, maxTest: 30);

    [Fact]
    public void SingularMatricesAreDetected() => PropCheck.Run(
        from n in Gen.Elements(2, 3, 5, 8, 13)
        from column in Gen.Choose(0, 100)
        from bad in Gen.Choose(0, 2)
        from seed in Gens.Seed
        from dtype in Gen.Elements(DType.Float64, DType.Float32)
        select (n, column: column % n, bad, seed, dtype),
        c =>
        {
            // A zero column c: elimination keeps it exactly zero, so the first zero pivot is step c.
            int n = c.n;
            var random = new System.Random(c.seed);
            var a = Matrices(3, n, random);
            for (int i = 0; i < n; i++) a[c.bad * n * n + i * n + c.column] = 0;
            using var at = Tensor.FromDoubles(a, new Shape(3, n, n), c.dtype);
            using var lu = Ops.LuFactor(at, out var pivots, out var info);
            pivots.Dispose();
            using (info)
            {
                var infos = info.ToArray<int>();
                for (int b = 0; b < 3; b++)
                    Assert.Equal(b == c.bad ? c.column + 1 : 0, infos[b]);
            }
            using var rhs = Tensor.Ones(new Shape(3, n), c.dtype);
            var e = Assert.Throws<ArgumentException>(() => Ops.Solve(at, rhs));
            Assert.Contains("solve", e.Message);
            Assert.Contains($"matrix [{c.bad}]", e.Message);
            Assert.Contains("singular", e.Message);
            Assert.Contains($"matrix [{c.bad}]", Assert.Throws<ArgumentException>(() => Ops.Inverse(at)).Message);
        }, maxTest: 30);

    [Fact]
    public void KnownSmallSystem()
    {
        // [[0, 2], [1, 1]] x = [4, 3]  ->  x = [1, 2]; needs the row swap.
        using var a = Tensor.FromDoubles([0, 2, 1, 1], new Shape(2, 2), DType.Float64);
        using var b = Tensor.FromDoubles([4, 3], new Shape(2), DType.Float64);
        using var x = Ops.Solve(a, b);
        Assert.Equal(new Shape(2), x.Shape);
        Close.Assert([1, 2], x.ToDoubleArray(), 1e-15);
        using var lu = Ops.LuFactor(a, out var pivots, out var info);
        using (pivots) Assert.Equal([1, 1], pivots.ToArray<int>());
        using (info) Assert.Equal(0, info.ToArray<int>()[0]);
        Close.Assert([1, 1, 0, 2], lu.ToDoubleArray(), 1e-15);
        // A strided (transposed) matrix: [[0, 1], [2, 1]] x = [1, 4]  ->  x = [1.5, 1].
        using var at = a.MT;
        using var b2 = Tensor.FromDoubles([1, 4], new Shape(2), DType.Float64);
        using var x2 = Ops.Solve(at, b2);
        Close.Assert([1.5, 1], x2.ToDoubleArray(), 1e-15);
    }

    [Fact]
    public void PivotShapeIsChecked()
    {
        using var lu = Tensor.Zeros(new Shape(2, 3, 3));
        using var pivots = Tensor.Zeros(new Shape(2, 4), DType.Int32);
        using var b = Tensor.Zeros(new Shape(2, 3));
        var e = Assert.Throws<TensorShapeException>(() => Ops.LuSolve(lu, pivots, b));
        Assert.Contains("lu_solve", e.Message);
        Assert.Contains("[2, 4]", e.Message);
    }
}
