using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The fast numeric cores against their references: the scalar box QP against the general projected Newton,
/// the eight-lane backward pass (a batch solve) against one-example solves (the scalar pass), the constant-gain
/// LQR map and its transpose against naive loops, and allocation of repeated solves.
/// </summary>
public class IlqrCoreTests
{
    private static Tensor T64(double[] v, params int[] shape) => Tensor.FromDoubles(v, new Shape(shape), DType.Float64);

    [Fact]
    public void ScalarBoxQpMatchesGeneralPath() =>
        Prop.ForAll(Gen.Choose(1, 1_000_000).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            double h = rng.Next(8) == 0 ? -rng.NextDouble() : 1e-3 + 3 * rng.NextDouble();
            double q = 4 * (2 * rng.NextDouble() - 1);
            double lo = -2 * rng.NextDouble(), hi = rng.Next(4) == 0 ? lo : 2 * rng.NextDouble();
            double warm = 3 * (2 * rng.NextDouble() - 1);
            var fast = new BoxQp(1); var general = new BoxQp(1);
            double[] xf = [warm], xg = [warm];
            bool okF = fast.Solve([h], [q], [lo], [hi], xf);
            bool okG = general.SolveGeneral([h], [q], [lo], [hi], xg);
            Assert.Equal(okG, okF);
            Assert.Equal(xg[0], xf[0]);
            if (okG)
            {
                Assert.Equal(general.FreeCount, fast.FreeCount);
                if (general.FreeCount == 1) Assert.Equal(general.FreeFactor[0], fast.FreeFactor[0]);
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    /// <summary>A batch (groups of eight lanes plus a tail) gives what solving each example alone (scalar pass) gives.</summary>
    [Fact]
    public void LaneBackwardPassMatchesOneExampleSolves() =>
        Prop.ForAll(Gen.Choose(1, 1_000_000).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            int kind = rng.Next(3), B = 2 + rng.Next(10), T = 3 + rng.Next(8);
            TrajProblem p; int n;
            if (kind == 0) { p = PendulumSwingUp.Problem(T); n = 3; }
            else if (kind == 1) { p = CartPole.Problem(T); n = 4; }
            else
            {
                var d = LqData.Random(rng, 2 + rng.Next(3), 1, T, linearScale: 1);
                p = d.AnalyticProblem();
                if (rng.Next(2) == 0) p = p.WithBounds(-0.3, 0.4);
                n = d.N;
            }
            var x0 = new double[B * n];
            for (int b = 0; b < B; b++)
            {
                if (kind == 0) { double th = 3 * (2 * rng.NextDouble() - 1); x0[b * 3] = Math.Cos(th); x0[b * 3 + 1] = Math.Sin(th); x0[b * 3 + 2] = rng.NextDouble() - 0.5; }
                else for (int i = 0; i < n; i++) x0[b * n + i] = 0.8 * (2 * rng.NextDouble() - 1);
            }
            var u0 = new double[B * T];
            for (int i = 0; i < u0.Length; i++) u0[i] = rng.NextDouble() - 0.5;
            var o = new IlqrOptions { MaxIterations = 1 + rng.Next(12), GradientTolerance = rng.Next(2) == 0 ? 0 : 1e-6 };
            var all = Ilqr.Solve(p, T64(x0, B, n), T64(u0, B, T, 1), o);
            var uAll = all.U.ToDoubleArray();
            for (int b = 0; b < B; b++)
            {
                var one = Ilqr.Solve(p, T64(x0[(b * n)..((b + 1) * n)], 1, n), T64(u0[(b * T)..((b + 1) * T)], 1, T, 1), o);
                var uOne = one.U.ToDoubleArray();
                string what = $"kind {kind}, B {B}, T {T}, example {b}, {o.MaxIterations} iterations, bounded {p.HasBounds}: alone {one.Status[0]}, in the batch {all.Status[b]}";
                Assert.True(one.Status[0].Iterations == all.Status[b].Iterations && one.Status[0].Converged == all.Status[b].Converged, what);
                Assert.True(Math.Abs(one.Status[0].Cost - all.Status[b].Cost) <= 1e-9 * (1 + Math.Abs(one.Status[0].Cost)), what);
                for (int i = 0; i < T; i++) Assert.True(Math.Abs(uOne[i] - uAll[b * T + i]) <= 1e-9 * (1 + Math.Abs(uOne[i])), $"{what}: u[{i}] {uOne[i]} vs {uAll[b * T + i]}");
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));

    private static (ConstantGainLqr Lqr, Linearization Lin, IlqrImplicit.Gains Gains, bool[] Free) RandomLqr(Random rng, int B, int T, int n, int m)
    {
        var lin = new Linearization(B, T, n, m);
        for (int i = 0; i < lin.A.Length; i++) lin.A[i] = 0.4 * (2 * rng.NextDouble() - 1) + ((i % (n * n)) % (n + 1) == 0 ? 0.8 : 0);
        for (int i = 0; i < lin.Bu.Length; i++) lin.Bu[i] = 2 * rng.NextDouble() - 1;
        for (int b = 0; b < B; b++)
        {
            for (int t = 0; t <= T; t++) { var h = lin.LxxSpan(b, t); for (int i = 0; i < n; i++) h[i * n + i] = 0.5 + rng.NextDouble(); }
            for (int t = 0; t < T; t++)
            {
                var h = lin.LuuSpan(b, t); for (int i = 0; i < m; i++) h[i * m + i] = 0.2 + rng.NextDouble();
                var x = lin.LuxSpan(b, t); for (int i = 0; i < x.Length; i++) x[i] = 0.1 * (2 * rng.NextDouble() - 1);
            }
        }
        var free = new bool[B * T * m];
        for (int i = 0; i < free.Length; i++) free[i] = rng.Next(4) != 0;
        var gains = IlqrImplicit.Riccati(lin, free, B, T, n, m);
        return (new ConstantGainLqr(gains, lin, B, T, n, m), lin, gains, free);
    }

    /// <summary>Naive S g: the costate sweep and forward pass with freshly allocated vectors per step.</summary>
    private static double[] NaiveApply(Linearization lin, IlqrImplicit.Gains g, double[] grad, int B, int T, int n, int m)
    {
        var du = new double[B * T * m];
        for (int b = 0; b < B; b++)
        {
            var k = new double[T][];
            var v = new double[n];
            for (int t = T - 1; t >= 0; t--)
            {
                int bt = b * T + t;
                var qu = new double[m];
                for (int i = 0; i < m; i++) { qu[i] = grad[bt * m + i]; for (int j = 0; j < n; j++) qu[i] += lin.BSpan(b, t)[j * m + i] * v[j]; }
                k[t] = new double[m];
                for (int i = 0; i < m; i++) for (int j = 0; j < m; j++) k[t][i] -= g.P[bt * m * m + i * m + j] * qu[j];
                var nv = new double[n];
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++) nv[i] += lin.ASpan(b, t)[j * n + i] * v[j];
                    for (int j = 0; j < m; j++) nv[i] += g.Qux[bt * m * n + j * n + i] * k[t][j];
                }
                v = nv;
            }
            var dx = new double[n];
            for (int t = 0; t < T; t++)
            {
                int bt = b * T + t;
                var u = new double[m];
                for (int i = 0; i < m; i++) { u[i] = k[t][i]; for (int j = 0; j < n; j++) u[i] += g.K[bt * m * n + i * n + j] * dx[j]; du[bt * m + i] = u[i]; }
                var nx = new double[n];
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++) nx[i] += lin.ASpan(b, t)[i * n + j] * dx[j];
                    for (int j = 0; j < m; j++) nx[i] += lin.BSpan(b, t)[i * m + j] * u[j];
                }
                dx = nx;
            }
        }
        return du;
    }

    [Fact]
    public void ConstantGainLqrAndItsTransposeMatchReferences() =>
        Prop.ForAll(Gen.Choose(1, 1_000_000).ToArbitrary(), seed =>
        {
            var rng = new Random(seed);
            int B = 1 + rng.Next(3), T = 1 + rng.Next(6), n = 1 + rng.Next(4), m = 1 + rng.Next(3);
            var (lqr, lin, gains, _) = RandomLqr(rng, B, T, n, m);
            var g = new double[B * T * m]; var w = new double[B * T * m];
            for (int i = 0; i < g.Length; i++) { g[i] = 2 * rng.NextDouble() - 1; w[i] = 2 * rng.NextDouble() - 1; }
            var sg = new double[g.Length]; var stw = new double[w.Length];
            lqr.Apply(g, sg);
            lqr.ApplyTranspose(w, stw);
            var naive = NaiveApply(lin, gains, g, B, T, n, m);
            for (int i = 0; i < sg.Length; i++) Assert.Equal(naive[i], sg[i], 1e-12);
            // Adjoint identity ⟨S g, w⟩ = ⟨g, Sᵀ w⟩.
            double lhs = 0, rhs = 0;
            for (int i = 0; i < g.Length; i++) { lhs += sg[i] * w[i]; rhs += g[i] * stw[i]; }
            Assert.Equal(lhs, rhs, 1e-10 * (1 + Math.Abs(lhs)));
            // The Var form of the transpose (used under createGraph) agrees.
            var wv = new Var(T64(w, B, T, m), requiresGrad: true);
            Var r;
            using (Autograd.EnableGrad()) r = lqr.ApplyTransposeVar(wv);
            var rv = r.Value.ToDoubleArray();
            for (int i = 0; i < rv.Length; i++) Assert.Equal(stw[i], rv[i], 1e-12);
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));

    /// <summary>Repeated solves of one shape reuse their buffers: what is left is the result (U, X, status).</summary>
    [Fact]
    public void RepeatedSolvesAllocateOnlyTheResult()
    {
        const int B = 4, T = 10;
        var p = PendulumSwingUp.Problem(T);
        var x0 = new double[B * 3];
        for (int b = 0; b < B; b++) { x0[b * 3] = Math.Cos(2 + 0.1 * b); x0[b * 3 + 1] = Math.Sin(2 + 0.1 * b); }
        var x0t = T64(x0, B, 3); var u0 = Tensor.Zeros(new Shape(B, T, 1), DType.Float64);
        var o = new IlqrOptions { MaxIterations = 5, GradientTolerance = 0, CostTolerance = 0 };
        for (int i = 0; i < 3; i++) Ilqr.Solve(p, x0t, u0, o);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Ilqr.Solve(p, x0t, u0, o);
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        // U and X as arrays and tensors, the status array and a few small objects.
        long result = 2 * 8 * (B * T + B * (T + 1) * 3) + 40 * B;
        Assert.True(bytes < result + 2048, $"a solve allocated {bytes} bytes; the result needs about {result}");
    }
}
