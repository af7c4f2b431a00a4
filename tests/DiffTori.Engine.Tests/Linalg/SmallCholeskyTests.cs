using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

/// <summary>The scalar tiny-matrix Cholesky that the solvers and the physics share, against the reference product and solve.</summary>
public class SmallCholeskyTests
{
    private static readonly Gen<(int N, int Seed)> Case =
        from n in Gen.Elements(MatrixRef.Sizes.Where(s => s <= 33).ToArray())
        from seed in Gen.Choose(0, 1_000_000)
        select (n, seed);

    [Fact]
    public void FactorTimesItsTransposeIsTheMatrixAndSolveInverts() => PropCheck.Run(Case, c =>
    {
        int n = c.N;
        var random = new System.Random(c.Seed);
        var a = MatrixRef.Spd(1, n, random);
        var l = (double[])a.Clone();
        Assert.Equal(-1, SmallCholesky.Factor(l, n));
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) Assert.Equal(0.0, l[i * n + j]);
        var lt = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) lt[j * n + i] = l[i * n + j];
        Assert.True(MatrixRef.RelativeError(a, MatrixRef.MatMul(lt, lt, n, n, transposeA: true)) < 1e-12);

        // x = A⁻¹ b, checked by A·x = b.
        var b = MatrixRef.Random(n, random);
        var x = (double[])b.Clone();
        SmallCholesky.Solve(l, n, x);
        var ax = MatrixRef.MatMul(a, x, n, 1);
        Assert.True(MatrixRef.RelativeError(b, ax) < 1e-9, $"A·x differs from b by {MatrixRef.RelativeError(b, ax):E2} (n = {n})");
    });

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-1.0)]
    [InlineData(0.0)]
    public void ABadPivotIsReportedByItsIndex(double badDiagonal)
    {
        // diag(4, bad, 9): the first two pivots are 2 and then the bad one, at index 1.
        var a = new double[] { 4, 0, 0, 0, badDiagonal, 0, 0, 0, 9 };
        Assert.Equal(1, SmallCholesky.Factor(a, 3));
        if (!double.IsNaN(badDiagonal)) Assert.Equal(badDiagonal, SmallCholesky.PivotAt(a, 3, 1));
    }

    [Fact]
    public void ALaterPivotFailsAfterElimination()
    {
        // [[1, 2], [2, 3]]: the second pivot is 3 − 2² = −1.
        var a = new double[] { 1, 2, 2, 3 };
        Assert.Equal(1, SmallCholesky.Factor(a, 2));
        Assert.Equal(-1.0, SmallCholesky.PivotAt(a, 2, 1), 12);
    }
}
