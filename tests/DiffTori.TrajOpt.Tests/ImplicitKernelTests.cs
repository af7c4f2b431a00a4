using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The fused kernels of the implicit backward against naive loops: the linear sweeps and the cost-curvature ops
/// (values, transpose pairs, and the gradients their Var ops give), and the eight-lane Riccati sweep against the
/// scalar one. Random shapes and data, float64.
/// </summary>
public class ImplicitKernelTests
{
    private static double[] Rand(Random rng, int k, double s = 1) { var v = new double[k]; for (int i = 0; i < k; i++) v[i] = s * (2 * rng.NextDouble() - 1); return v; }
    private static Var V(double[] v, params int[] shape) => new(Tensor.FromDoubles(v, new Shape(shape), DType.Float64), requiresGrad: true);
    private static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

    private static Arbitrary<(int B, int T, int n, int m, int Seed)> Shapes() =>
        (from b in Gen.Choose(1, 9) from t in Gen.Choose(1, 6) from n in Gen.Choose(1, 4) from m in Gen.Choose(1, 3) from seed in Gen.Choose(0, 100000)
         select (b, t, n, m, seed)).ToArbitrary();

    private static Linearization RandomLinearization(int B, int T, int n, int m, Random rng)
    {
        var lin = new Linearization(B, T, n, m);
        Rand(rng, lin.A.Length, 0.8).CopyTo(lin.A, 0); Rand(rng, lin.Bu.Length).CopyTo(lin.Bu, 0);
        Rand(rng, lin.Lxx.Length).CopyTo(lin.Lxx, 0); Rand(rng, lin.Lux.Length).CopyTo(lin.Lux, 0);
        return lin;
    }

    [Fact]
    public void SweepsMatchNaiveRecursionsAndArePairwiseTransposes()
    {
        Prop.ForAll(Shapes(), s =>
        {
            var (B, T, n, m, seed) = s;
            var rng = new Random(seed);
            var lin = RandomLinearization(B, T, n, m, rng);
            var sw = new LinearizedSweeps(lin);
            double[] y = Rand(rng, B * (T + 1) * n), z = Rand(rng, B * (T + 1) * n), c = Rand(rng, B * T * m), y0 = Rand(rng, B * n);
            double A(int b, int t, int i, int j) => lin.A[((b * T + t) * n + i) * n + j];
            double Bu(int b, int t, int i, int j) => lin.Bu[((b * T + t) * n + i) * m + j];

            // Naive references, one example and one step at a time.
            var states = (double[])y.Clone(); var states0 = new double[B * (T + 1) * n];
            var costates = (double[])y.Clone(); var ctrl = new double[B * T * m]; var fromCtrl = new double[B * (T + 1) * n];
            for (int b = 0; b < B; b++)
            {
                for (int i = 0; i < n; i++) states0[b * (T + 1) * n + i] = y0[b * n + i];
                for (int t = 0; t < T; t++)
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++)
                        {
                            states[(b * (T + 1) + t + 1) * n + i] += A(b, t, i, j) * states[(b * (T + 1) + t) * n + j];
                            states0[(b * (T + 1) + t + 1) * n + i] += A(b, t, i, j) * states0[(b * (T + 1) + t) * n + j];
                        }
                for (int t = 0; t < T; t++)
                    for (int i = 0; i < n; i++)
                    {
                        double acc = 0;
                        for (int j = 0; j < n; j++) acc += A(b, t, i, j) * fromCtrl[(b * (T + 1) + t) * n + j];
                        for (int j = 0; j < m; j++) acc += Bu(b, t, i, j) * c[(b * T + t) * m + j];
                        fromCtrl[(b * (T + 1) + t + 1) * n + i] = acc;
                    }
                for (int t = T - 1; t >= 0; t--)
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++) costates[(b * (T + 1) + t) * n + i] += A(b, t, j, i) * costates[(b * (T + 1) + t + 1) * n + j];
                // ControlsOfCostates ignores y_0: its μ_{t+1} equal the costates of y for t + 1 ≥ 1.
                for (int t = 0; t < T; t++)
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) ctrl[(b * T + t) * m + i] += Bu(b, t, j, i) * costates[(b * (T + 1) + t + 1) * n + j];
            }
            AssertClose(states, sw.States(V(y, B, T + 1, n)).Value.ToDoubleArray(), "States");
            AssertClose(states0, sw.States(V(y0, B, n)).Value.ToDoubleArray(), "States from s_0");
            AssertClose(costates, sw.Costates(V(y, B, T + 1, n)).Value.ToDoubleArray(), "Costates");
            AssertClose(ctrl, sw.ControlsOfCostates(V(y, B, T + 1, n)).Value.ToDoubleArray(), "ControlsOfCostates");
            AssertClose(fromCtrl, sw.StatesOfControls(V(c, B, T, m)).Value.ToDoubleArray(), "StatesOfControls");

            // Transpose pairs: ⟨States(y), z⟩ = ⟨y, Costates(z)⟩ and ⟨ControlsOfCostates(y), c⟩ = ⟨y, StatesOfControls(c)⟩.
            AssertClose([Dot(states, z)], [Dot(y, sw.Costates(V(z, B, T + 1, n)).Value.ToDoubleArray())], "⟨S y, z⟩");
            AssertClose([Dot(ctrl, c)], [Dot(y, fromCtrl)], "⟨C y, c⟩");

            // The Var ops' gradients (their backward rules) are those transposes, also when recorded (createGraph).
            var yv = V(y, B, T + 1, n); var zv = new Var(Tensor.FromDoubles(z, new Shape(B, T + 1, n), DType.Float64));
            var gS = Autograd.Grad([F.Sum(sw.States(yv) * zv)], [yv], createGraph: true)[0];
            AssertClose(sw.Costates(zv).Value.ToDoubleArray(), gS.Value.ToDoubleArray(), "∂⟨States(y), z⟩/∂y");
            var cvv = new Var(Tensor.FromDoubles(c, new Shape(B, T, m), DType.Float64));
            var gC = Autograd.Grad([F.Sum(sw.ControlsOfCostates(yv) * cvv)], [yv])[0];
            AssertClose(fromCtrl, gC.Value.ToDoubleArray(), "∂⟨ControlsOfCostates(y), c⟩/∂y");
            var y0v = V(y0, B, n);
            var g0 = Autograd.Grad([F.Sum(sw.States(y0v) * zv)], [y0v])[0].Value.ToDoubleArray();
            var mu = sw.Costates(zv).Value.ToDoubleArray();
            for (int b = 0; b < B; b++)
                AssertClose(mu.AsSpan(b * (T + 1) * n, n).ToArray(), g0.AsSpan(b * n, n).ToArray(), "∂⟨States(y_0), z⟩/∂y_0");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    [Fact]
    public void CostCurvatureMatchesNaiveProductsAndTransposes()
    {
        Prop.ForAll(Shapes(), s =>
        {
            var (B, T, n, m, seed) = s;
            var rng = new Random(seed);
            var lin = RandomLinearization(B, T, n, m, rng);
            var cc = new CostCurvature(lin);
            double[] d = Rand(rng, B * (T + 1) * n), w = Rand(rng, B * (T + 1) * n), c = Rand(rng, B * T * m);
            var hx = new double[B * (T + 1) * n]; var hxT = new double[B * (T + 1) * n]; var hu = new double[B * T * m];
            for (int r = 0; r < B * (T + 1); r++)
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                    {
                        hx[r * n + i] += lin.Lxx[(r * n + i) * n + j] * d[r * n + j];
                        hxT[r * n + i] += lin.Lxx[(r * n + j) * n + i] * d[r * n + j];
                    }
            for (int b = 0; b < B; b++)
                for (int t = 0; t < T; t++)
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) hu[(b * T + t) * m + i] += lin.Lux[((b * T + t) * m + i) * n + j] * d[(b * (T + 1) + t) * n + j];
            var dv = V(d, B, T + 1, n);
            AssertClose(hx, cc.StateTerms(dv).Value.ToDoubleArray(), "StateTerms");
            AssertClose(hxT, cc.StateTerms(dv, transposed: true).Value.ToDoubleArray(), "StateTerms transposed");
            AssertClose(hu, cc.ControlTerms(dv).Value.ToDoubleArray(), "ControlTerms");
            AssertClose([Dot(hu, c)], [Dot(d, cc.ControlTermsTransposed(V(c, B, T, m)).Value.ToDoubleArray())], "⟨ControlTerms d, c⟩");
            var wv = new Var(Tensor.FromDoubles(w, new Shape(B, T + 1, n), DType.Float64));
            var g = Autograd.Grad([F.Sum(cc.StateTerms(dv) * wv)], [dv])[0].Value.ToDoubleArray();
            AssertClose([Dot(hx, w)], [Dot(d, g)], "∂⟨StateTerms d, w⟩/∂d");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    [Fact]
    public void LaneRiccatiMatchesScalarSweep()
    {
        // One control, batches that leave partial lane groups, clamped steps, and examples whose Q_uu turns negative
        // (the scalar sweep damps them: the lane path must hand those examples back).
        Prop.ForAll((from b in Gen.Choose(1, 21) from t in Gen.Choose(1, 6) from n in Gen.Choose(1, 4) from seed in Gen.Choose(0, 100000) select (b, t, n, seed)).ToArbitrary(), s =>
        {
            var (B, T, n, seed) = s;
            var rng = new Random(seed);
            var lin = RandomLinearization(B, T, n, 1, rng);
            for (int b = 0; b < B; b++)
                for (int t = 0; t <= T; t++)
                {
                    // ℓ_xx symmetric positive semidefinite; ℓ_uu positive except in some examples.
                    var h = lin.LxxSpan(b, t);
                    for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) { double v = 0.3 * h[i * n + j]; h[i * n + j] = v; h[j * n + i] = v; }
                    for (int i = 0; i < n; i++) h[i * n + i] = Math.Abs(h[i * n + i]) + n * 0.3;
                    if (t < T) lin.Luu[b * T + t] = b % 5 == 3 && t == 0 ? -50 : 0.5 + rng.NextDouble();
                }
            var free = new bool[B * T];
            for (int i = 0; i < free.Length; i++) free[i] = rng.NextDouble() < 0.8;
            var gains = IlqrImplicit.Riccati(lin, free, B, T, n, 1);
            var P = new double[B * T]; var K = new double[B * T * n]; var Q = new double[B * T * n];
            for (int b = 0; b < B; b++)
                IlqrImplicit.RiccatiExample(lin, free, b, T, n, 1, P, K, Q, new double[n * n], new double[n * n], new double[n], new double[n * n],
                    new double[1], new double[n], new int[1], new double[1], new double[1]);
            AssertClose(P, gains.P, "P");
            AssertClose(K, gains.K, "K");
            AssertClose(Q, gains.Qux, "Q_ux");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-10 * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
