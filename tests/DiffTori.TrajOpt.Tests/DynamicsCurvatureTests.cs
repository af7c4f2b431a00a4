using DiffTori.Engine;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The examples' closed-form costate-weighted curvature Σ λ_i ∇²f_i (IAnalyticDynamicsCurvature) against float64
/// central differences of their closed-form Jacobians, and against the Var dynamics' Hessians by double reverse
/// (ProblemEvaluator.AddDynamicsCurvature on the same problem without the closed form).
/// </summary>
public class DynamicsCurvatureTests
{
    public static TheoryData<string> Models => new() { "pendulum", "cartpole" };

    private static TrajProblem Make(string name, int T) => name == "pendulum" ? PendulumSwingUp.Problem(T) : CartPole.Problem(T);

    /// <summary>A state of the model from free coordinates: the pendulum's first two lie on the circle.</summary>
    private static void OnManifold(string name, Span<double> x)
    {
        if (name != "pendulum") return;
        double th = x[0];
        x[0] = Math.Cos(th); x[1] = Math.Sin(th);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CurvatureMatchesFiniteDifferencesOfTheJacobians(string name)
    {
        var p = Make(name, 3);
        int n = p.StateDim, m = p.ControlDim, N = n + m;
        var dyn = p.AnalyticDynamics!;
        var curv = Assert.IsAssignableFrom<IAnalyticDynamicsCurvature>(dyn);
        var gen = Gen.Choose(-3000, 3000).Select(i => i / 1000.0).ArrayOf(2 * n + m);
        Prop.ForAll(gen.ToArbitrary(), (double[] v) =>
        {
            var x = v.AsSpan(0, n).ToArray(); var u = v.AsSpan(n, m).ToArray(); var lam = v.AsSpan(n + m, n).ToArray();
            OnManifold(name, x);
            // ∇_z(λ·f) = [Aᵀλ; Bᵀλ] from the closed-form Jacobians, differentiated once more by central differences.
            double[] Grad(double[] z)
            {
                var next = new double[n]; var a = new double[n * n]; var b = new double[n * m];
                dyn.Step(z.AsSpan(0, n), z.AsSpan(n, m), next, a, b);
                var g = new double[N];
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++) g[j] += a[i * n + j] * lam[i];
                    for (int j = 0; j < m; j++) g[n + j] += b[i * m + j] * lam[i];
                }
                return g;
            }
            // Start from nonzero blocks: the method adds.
            var hxx = Enumerable.Range(0, n * n).Select(i => 0.5 * i).ToArray();
            var huu = Enumerable.Range(0, m * m).Select(i => 1.0 + i).ToArray();
            var hux = Enumerable.Range(0, m * n).Select(i => -0.25 * i).ToArray();
            var before = (hxx.ToArray(), huu.ToArray(), hux.ToArray());
            curv.AddCurvature(x, u, lam, hxx, huu, hux);
            const double h = 1e-5;
            for (int k = 0; k < N; k++)
            {
                var zp = x.Concat(u).ToArray(); var zm = zp.ToArray();
                zp[k] += h; zm[k] -= h;
                var gp = Grad(zp); var gm = Grad(zm);
                for (int j = 0; j < N; j++)
                {
                    double fd = (gp[j] - gm[j]) / (2 * h);
                    // H[k][j] within the blocks: xx, ux (row u, column x), uu.
                    double got = k < n && j < n ? hxx[k * n + j] - before.Item1[k * n + j]
                        : k >= n && j < n ? hux[(k - n) * n + j] - before.Item3[(k - n) * n + j]
                        : k < n ? hux[(j - n) * n + k] - before.Item3[(j - n) * n + k]
                        : huu[(k - n) * m + j - n] - before.Item2[(k - n) * m + j - n];
                    if (!(Math.Abs(fd - got) <= 1e-6 * (1 + Math.Abs(fd))))
                        throw new Xunit.Sdk.XunitException($"{name}: H[{k},{j}] closed form {got}, finite differences {fd}");
                }
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(50));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void EvaluatorCurvatureMatchesVarDynamicsHessians(string name)
    {
        var p = Make(name, 4);
        // The same problem whose analytic dynamics give Jacobians only: its curvature comes from the Var dynamics.
        var varOnly = p.WithoutClosedFormCurvature();
        int n = p.StateDim, m = p.ControlDim, T = p.Horizon;
        Prop.ForAll(Gen.Choose(1, 4).Zip(Gen.Choose(0, 10000)).ToArbitrary(), tuple =>
        {
            var (B, seed) = tuple;
            var rng = new Random(seed);
            var x = new double[B * (T + 1) * n]; var u = new double[B * T * m];
            for (int i = 0; i < x.Length; i++) x[i] = 2 * rng.NextDouble() - 1;
            for (int i = 0; i < x.Length; i += n) OnManifold(name, x.AsSpan(i, n));
            for (int i = 0; i < u.Length; i++) u[i] = 4 * rng.NextDouble() - 2;
            Linearization Curved(TrajProblem q)
            {
                var lin = new Linearization(B, T, n, m);
                var ev = new ProblemEvaluator(q, DType.Float64);
                ev.Linearize(B, x, u, lin);
                ev.AddDynamicsCurvature(B, x, u, lin);
                return lin;
            }
            var closed = Curved(p); var reference = Curved(varOnly);
            void Same(double[] e, double[] a, string what)
            {
                for (int i = 0; i < e.Length; i++)
                    if (!(Math.Abs(e[i] - a[i]) <= 1e-10 * (1 + Math.Abs(e[i]))))
                        throw new Xunit.Sdk.XunitException($"{name} B={B}: {what}[{i}] Var {e[i]}, closed form {a[i]}");
            }
            Same(reference.Lxx, closed.Lxx, "lxx"); Same(reference.Luu, closed.Luu, "luu"); Same(reference.Lux, closed.Lux, "lux");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(15));
    }
}
