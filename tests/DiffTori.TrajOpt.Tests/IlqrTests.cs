using DiffTori.Engine;
using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

public class IlqrTests
{
    private static Tensor T64(double[] v, params int[] shape) => Tensor.FromDoubles(v, new Shape(shape), DType.Float64);

    /// <summary>Closed-form finite-horizon Riccati: P_T = Qf, K_t = (R + BᵀP B)⁻¹BᵀP A, u_t = −K_t x_t (no linear terms).</summary>
    private static double[] RiccatiControls(LqData d, double[] x0)
    {
        int n = d.N, m = d.M, T = d.T;
        var P = (double[])d.Qf.Clone();
        var K = new double[T][];
        for (int t = T - 1; t >= 0; t--)
        {
            var PB = new double[n * m]; var PA = new double[n * n];
            SmallDense.MatMul(P, d.B, PB, n, n, m);
            SmallDense.MatMul(P, d.A, PA, n, n, n);
            var S = (double[])d.R.Clone();
            SmallDense.MatMul(d.B, PB, S, m, n, m, transA: true, accumulate: true);
            var BtPA = new double[m * n];
            SmallDense.MatMul(d.B, PA, BtPA, m, n, n, transA: true);
            Assert.True(SmallDense.Cholesky(S, m));
            var k = new double[m * n];
            var col = new double[m];
            for (int j = 0; j < n; j++)
            {
                for (int i = 0; i < m; i++) col[i] = BtPA[i * n + j];
                SmallDense.CholeskySolve(S, m, col);
                for (int i = 0; i < m; i++) k[i * n + j] = col[i];
            }
            K[t] = k;
            // P = Q + Aᵀ P A − Aᵀ P B K
            var nextP = (double[])d.Q.Clone();
            SmallDense.MatMul(d.A, PA, nextP, n, n, n, transA: true, accumulate: true);
            var PBK = new double[n * n];
            SmallDense.MatMul(PB, k, PBK, n, m, n);
            var APBK = new double[n * n];
            SmallDense.MatMul(d.A, PBK, APBK, n, n, n, transA: true);
            for (int i = 0; i < n * n; i++) nextP[i] -= APBK[i];
            SmallDense.Symmetrize(nextP, n);
            P = nextP;
        }
        var u = new double[T * m];
        var x = (double[])x0.Clone();
        for (int t = 0; t < T; t++)
        {
            var ut = new double[m];
            SmallDense.MatVec(K[t], x, ut, m, n);
            for (int i = 0; i < m; i++) u[t * m + i] = -ut[i];
            var nx = new double[n];
            SmallDense.MatVec(d.A, x, nx, n, n);
            SmallDense.MatVec(d.B, ut.Select(v => -v).ToArray(), nx, n, m, accumulate: true);
            x = nx;
        }
        return u;
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void UnconstrainedLqrMatchesRiccati(int seed, bool analytic)
    {
        var rng = new Random(seed);
        var d = LqData.Random(rng, 3, 2, 6);
        int B = 3;
        var x0 = new double[B * 3];
        for (int i = 0; i < x0.Length; i++) x0[i] = 2 * rng.NextDouble() - 1;
        var p = analytic ? d.AnalyticProblem() : d.VarProblem();
        var res = Ilqr.Solve(p, T64(x0, B, 3), Tensor.Zeros(new Shape(B, 6, 2), DType.Float64));
        var u = res.U.ToDoubleArray();
        for (int b = 0; b < B; b++)
        {
            Assert.True(res.Status[b].Converged, $"example {b}: {res.Status[b]}");
            Assert.True(res.Status[b].Iterations <= 4, $"LQ problem should take one Newton step, took {res.Status[b].Iterations}");
            var expected = RiccatiControls(d, x0[(b * 3)..(b * 3 + 3)]);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], u[b * 12 + i], 1e-7);
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    public void BoxConstrainedMatchesDenseQp(int seed)
    {
        var rng = new Random(seed);
        var d = LqData.Random(rng, 3, 2, 5, linearScale: 1.5);
        int B = 2;
        var x0 = new double[B * 3];
        for (int i = 0; i < x0.Length; i++) x0[i] = 4 * rng.NextDouble() - 2;
        const double lo = -0.3, hi = 0.4;
        var p = (seed % 2 == 0 ? d.AnalyticProblem() : d.VarProblem()).WithBounds(lo, hi);
        var res = Ilqr.Solve(p, T64(x0, B, 3), Tensor.Zeros(new Shape(B, 5, 2), DType.Float64), new IlqrOptions { MaxIterations = 200 });
        var u = res.U.ToDoubleArray();
        int atBound = 0;
        for (int b = 0; b < B; b++)
        {
            Assert.True(res.Status[b].Converged, $"example {b}: {res.Status[b]}");
            var (H, g) = d.DenseQp(x0[(b * 3)..(b * 3 + 3)]);
            var reference = ReferenceQp.Solve(H, g, 10, lo, hi);
            for (int i = 0; i < 10; i++)
            {
                Assert.Equal(reference[i], u[b * 10 + i], 1e-6);
                if (reference[i] == lo || reference[i] == hi) atBound++;
            }
        }
        Assert.True(atBound > 0, "the random problem should push some controls onto the box");
    }
}
