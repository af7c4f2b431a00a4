using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>Every gradient mode against central finite differences of the solver output, in float64.</summary>
public class GradientTests
{
    private static Var P(double[] v, params int[] shape) => new(Tensor.FromDoubles(v, new Shape(shape), DType.Float64), requiresGrad: true);
    private static double[] Rand(Random rng, int k, double s) { var v = new double[k]; for (int i = 0; i < k; i++) v[i] = s * (2 * rng.NextDouble() - 1); return v; }

    /// <summary>
    /// A parameterized LQ-type problem: x' = A x + B u, ℓ = ½Σ w_i x_i² + ½ρ|u|² + cᵀx, ℓ_T = 2|x|². Parameters
    /// A, B, w, c and x0 are Vars (all differentiated). Linear dynamics make the iLQR model exact.
    /// </summary>
    internal sealed class ParamProblem
    {
        public const int N = 2, M = 2, T = 4, Batch = 2;
        public readonly Var A, Bm, W, Cv, X0;
        public readonly double[] LossWeights;

        public ParamProblem(Random rng)
        {
            var a = Rand(rng, N * N, 0.3); a[0] += 0.9; a[3] += 0.9;
            A = P(a, N, N); Bm = P(Rand(rng, N * M, 0.8), N, M);
            W = P(Rand(rng, N, 0.4).Select(v => v + 1).ToArray(), N);
            Cv = P(Rand(rng, N, 1.0), N);
            X0 = P(Rand(rng, Batch * N, 2.0), Batch, N);
            LossWeights = Rand(rng, Batch * T * M, 1.0);
        }

        public Var[] Params => [A, Bm, W, Cv, X0];

        public TrajProblem Problem(double? bound) {
            var p = new TrajProblem(N, M, T,
                (x, u) => F.Matmul(x, A, transB: true) + F.Matmul(u, Bm, transB: true),
                (x, u, t) => 0.5 * F.Sum(W * F.Square(x), 1) + 0.25 * F.Sum(F.Square(u), 1) + F.Sum(Cv * x, 1),
                x => 2.0 * F.Sum(F.Square(x), 1));
            return bound is { } b ? p.WithBounds(-b, b) : p;
        }

        public Var Loss(Var u) => F.Sum(u * new Var(Tensor.FromDoubles(LossWeights, u.Shape, DType.Float64)));
    }

    private static double CentralDifference(Var param, int index, Func<double> loss, double h = 1e-6)
    {
        var span = param.Value.AsSpan<double>();
        double keep = span[index];
        span[index] = keep + h; double up = loss();
        span[index] = keep - h; double down = loss();
        span[index] = keep;
        return (up - down) / (2 * h);
    }

    private static void CompareAll(Var[] ps, Func<double> loss, double tol, string what, double h = 1e-6)
    {
        int compared = 0, total = 0;
        foreach (var p in ps)
        {
            var g = p.Grad?.Value.ToDoubleArray() ?? new double[p.Length];
            for (int i = 0; i < p.Length; i++)
            {
                double fd = CentralDifference(p, i, loss, h);
                total++;
                if (double.IsNaN(fd)) continue;
                compared++;
                Assert.True(Math.Abs(fd - g[i]) <= tol * (1 + Math.Abs(fd)), $"{what}: parameter {p.Shape} entry {i}: analytic {g[i]}, finite difference {fd}");
            }
        }
        Assert.True(compared * 2 >= total, $"{what}: only {compared} of {total} entries had no active-set change");
    }

    private static bool[] ActiveSet(double[] u, double? bound) =>
        u.Select(v => bound is { } b && Math.Abs(Math.Abs(v) - b) < 1e-12).ToArray();

    private static readonly IlqrOptions Tight = new() { MaxIterations = 100, GradientTolerance = 1e-11, CostTolerance = 0 };

    [Fact]
    public void IlqrImplicitMatchesFiniteDifferences_Unconstrained() =>
        Prop.ForAll(Gen.Choose(1, 100000).ToArbitrary(), seed => IlqrImplicitCase(seed, bound: null)).Check(Config.QuickThrowOnFailure.WithMaxTest(6));

    [Fact]
    public void IlqrImplicitMatchesFiniteDifferences_Boxed() =>
        Prop.ForAll(Gen.Choose(1, 100000).ToArbitrary(), seed => IlqrImplicitCase(seed, bound: 0.35)).Check(Config.QuickThrowOnFailure.WithMaxTest(8));

    private static bool IlqrImplicitCase(int seed, double? bound)
    {
        var pp = new ParamProblem(new Random(seed));
        var problem = pp.Problem(bound);
        var u0 = Tensor.Zeros(new Shape(ParamProblem.Batch, ParamProblem.T, ParamProblem.M), DType.Float64);
        var sol = Ilqr.Solve(problem, pp.X0.Value, u0, Tight);
        Assert.True(sol.AllConverged, string.Join(", ", sol.Status));
        var uOut = IlqrImplicit.Attach(problem, pp.X0, sol);
        Assert.Equal(sol.U.ToDoubleArray(), uOut.Value.ToDoubleArray());
        pp.Loss(uOut).Backward();
        if (bound is { } b)
        {
            int active = sol.U.ToDoubleArray().Count(v => Math.Abs(Math.Abs(v) - b) < 1e-12);
            if (active == 0 || active == sol.U.Length) return true; // nothing (or everything) clamped: not the case under test
        }
        var activeAtSolution = ActiveSet(sol.U.ToDoubleArray(), bound);
        CompareAll(pp.Params, () =>
        {
            using var _ = Autograd.NoGrad();
            var u = Ilqr.Solve(problem, pp.X0.Value, u0, Tight).U;
            // A perturbation that moves a control on or off the box crosses a kink: no derivative to compare there.
            if (!ActiveSet(u.ToDoubleArray(), bound).SequenceEqual(activeAtSolution)) return double.NaN;
            return pp.Loss(new Var(u)).Item();
        }, 2e-5, $"iLQR implicit (seed {seed}, bound {bound})");
        return true;
    }

    /// <summary>r(u; θ) = M tanh(u) − b + ½·c ⊙ u²-like twist: a nonlinear least-squares problem, residual dim 5, D = 3.</summary>
    private sealed class NlsProblem
    {
        public const int D = 3, R = 5, Batch = 2;
        public readonly Var M, Bv, Cv;
        public readonly double[] U0, LossWeights;

        public NlsProblem(Random rng)
        {
            M = P(Rand(rng, R * D, 1.0), R, D);
            Bv = P(Rand(rng, Batch * R, 1.0), Batch, R);
            Cv = P(Rand(rng, R, 0.3), R);
            U0 = Rand(rng, Batch * D, 0.5);
            LossWeights = Rand(rng, Batch * D, 1.0);
        }

        public Var[] Params => [M, Bv, Cv];

        /// <summary>Rows may be a multiple of the batch (replicated by the solver): tile b accordingly.</summary>
        public Var Residual(Var u, bool linear)
        {
            var bt = Residuals.Tile(Bv, u.Shape[0]);
            var inner = linear ? u : F.Tanh(u);
            var r = F.Matmul(inner, M, transB: true) - bt;
            return linear ? r : r + Cv * F.Square(F.Matmul(u, M, transB: true));
        }

        public Var Loss(Var u) => F.Sum(u * new Var(Tensor.FromDoubles(LossWeights, u.Shape, DType.Float64)));
        public Var Init => new(Tensor.FromDoubles(U0, new Shape(Batch, D), DType.Float64));
    }

    [Fact]
    public void LmUnrolledMatchesFiniteDifferencesOfTheIterationMap() =>
        Prop.ForAll(Gen.Choose(1, 100000).ToArbitrary(), seed =>
        {
            var np = new NlsProblem(new Random(seed));
            var o = new LmOptions { Iterations = 6, Damping = 0.3, StepSize = 0.7, Gradient = GradientMode.Unrolled, Lower = -1.5, Upper = 1.5 };
            var res = LevenbergMarquardt.Solve(u => np.Residual(u, linear: false), np.Init, o);
            np.Loss(res.U).Backward();
            CompareAll(np.Params, () =>
            {
                var r = LevenbergMarquardt.Solve(u => np.Residual(u, linear: false), np.Init, new LmOptions { Iterations = 6, Damping = 0.3, StepSize = 0.7, Gradient = GradientMode.None, Lower = -1.5, Upper = 1.5 });
                return np.Loss(r.U).Item();
            }, 1e-5, $"LM unrolled (seed {seed})");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(6));

    [Fact]
    public void LmAdaptiveUnrolledMatchesFiniteDifferences() =>
        Prop.ForAll(Gen.Choose(1, 100000).ToArbitrary(), seed =>
        {
            var np = new NlsProblem(new Random(seed));
            LmOptions Opt(GradientMode g) => new() { Iterations = 5, Damping = 1, AdaptiveDamping = true, Gradient = g };
            var res = LevenbergMarquardt.Solve(u => np.Residual(u, linear: false), np.Init, Opt(GradientMode.Unrolled));
            np.Loss(res.U).Backward();
            CompareAll(np.Params, () => np.Loss(LevenbergMarquardt.Solve(u => np.Residual(u, linear: false), np.Init, Opt(GradientMode.None)).U).Item(),
                1e-5, $"LM adaptive unrolled (seed {seed})");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5));

    [Fact]
    public void LmTruncatedMatchesFiniteDifferencesOfTheLastKIterations() =>
        Prop.ForAll(Gen.Choose(1, 100000).ToArbitrary(), seed =>
        {
            var np = new NlsProblem(new Random(seed));
            const int total = 8, k = 3;
            LmOptions Opt(int iters, GradientMode g) => new() { Iterations = iters, Damping = 0.2, StepSize = 0.8, Gradient = g, TruncatedSteps = k };
            var res = LevenbergMarquardt.Solve(u => np.Residual(u, linear: false), np.Init, Opt(total, GradientMode.Truncated));
            np.Loss(res.U).Backward();
            // The first total − k iterations are a constant for the truncated gradient: freeze their output.
            var mid = LevenbergMarquardt.Solve(u => np.Residual(u, linear: false), np.Init, Opt(total - k, GradientMode.None)).U;
            CompareAll(np.Params, () => np.Loss(LevenbergMarquardt.Solve(u => np.Residual(u, linear: false), mid, Opt(k, GradientMode.None)).U).Item(),
                1e-5, $"LM truncated (seed {seed})");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5));

    [Fact]
    public void LmTruncatedThroughAllIterationsEqualsUnrolled()
    {
        var np = new NlsProblem(new Random(7));
        Var[] Grads(GradientMode g)
        {
            foreach (var p in np.Params) p.Grad = null;
            var r = LevenbergMarquardt.Solve(u => np.Residual(u, linear: false), np.Init, new LmOptions { Iterations = 4, Gradient = g, TruncatedSteps = 4 });
            np.Loss(r.U).Backward();
            return np.Params.Select(p => p.Grad!).ToArray();
        }
        var a = Grads(GradientMode.Unrolled).Select(v => v.Value.ToDoubleArray()).ToArray();
        var b = Grads(GradientMode.Truncated).Select(v => v.Value.ToDoubleArray()).ToArray();
        // The initial u is a constant here, so both record exactly the same computation.
        for (int i = 0; i < a.Length; i++) for (int j = 0; j < a[i].Length; j++) Assert.Equal(a[i][j], b[i][j], 1e-12);
    }

    [Fact]
    public void LmImplicitMatchesFiniteDifferences_LinearResidual() =>
        Prop.ForAll(Gen.Choose(1, 100000).ToArbitrary(), seed =>
        {
            var np = new NlsProblem(new Random(seed));
            LmOptions Opt(GradientMode g) => new() { Iterations = 60, Damping = 1e-6, Gradient = g };
            var res = LevenbergMarquardt.Solve(u => np.Residual(u, linear: true), np.Init, Opt(GradientMode.Implicit));
            Assert.All(res.Status, s => Assert.True(s.Converged, s.ToString()));
            np.Loss(res.U).Backward();
            CompareAll(np.Params, () => np.Loss(LevenbergMarquardt.Solve(u => np.Residual(u, linear: true), np.Init, Opt(GradientMode.None)).U).Item(),
                1e-5, $"LM implicit (seed {seed})");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(6));

    /// <summary>Unrolling a converging LM far enough gives the implicit (fixed-point) derivative.</summary>
    [Fact]
    public void LmImplicitEqualsUnrolledToConvergence()
    {
        var np = new NlsProblem(new Random(11));
        double[][] Grads(GradientMode g, int iters)
        {
            foreach (var p in np.Params) p.Grad = null;
            var r = LevenbergMarquardt.Solve(u => np.Residual(u, linear: true), np.Init, new LmOptions { Iterations = iters, Damping = 0.05, Gradient = g });
            np.Loss(r.U).Backward();
            return np.Params.Select(p => p.Grad?.Value.ToDoubleArray() ?? new double[p.Length]).ToArray();
        }
        var imp = Grads(GradientMode.Implicit, 40);
        var unr = Grads(GradientMode.Unrolled, 40);
        for (int i = 0; i < imp.Length; i++) for (int j = 0; j < imp[i].Length; j++) Assert.Equal(imp[i][j], unr[i][j], 1e-7);
    }

    /// <summary>
    /// iLQR's implicit gradient equals LM unrolled to convergence on the same trajectory problem, written as a
    /// least-squares residual: ½w x² + c x = ½(√w x + c/√w)² − c²/2w, ¼u² = ½(u/√2)², 2x² = ½(2x)².
    /// </summary>
    [Fact]
    public void IlqrImplicitEqualsLmUnrolledToConvergence()
    {
        var pp = new ParamProblem(new Random(21));
        var problem = pp.Problem(null);
        const int B = ParamProblem.Batch, T = ParamProblem.T, M = ParamProblem.M, N = ParamProblem.N;
        var sol = Ilqr.Solve(problem, pp.X0.Value, Tensor.Zeros(new Shape(B, T, M), DType.Float64), Tight);
        pp.Loss(IlqrImplicit.Attach(problem, pp.X0, sol)).Backward();
        var imp = pp.Params.Select(p => p.Grad!.Value.ToDoubleArray()).ToArray();
        foreach (var p in pp.Params) p.Grad = null;
        Var Residual(Var flat)
        {
            var u = F.Reshape(flat, flat.Shape[0], T, M);
            var xs = Rollout.States(problem, Residuals.Tile(pp.X0, flat.Shape[0]), u);
            var sw = F.Sqrt(pp.W);
            var parts = new List<Var>();
            for (int t = 0; t < T; t++)
            {
                parts.Add(sw * F.Select(xs, 1, t) + pp.Cv / sw);
                parts.Add(F.Select(u, 1, t) * Math.Sqrt(0.5));
            }
            parts.Add(2.0 * F.Select(xs, 1, T));
            return F.Concat(parts, 1);
        }
        var res = LevenbergMarquardt.Solve(Residual, new Var(Tensor.Zeros(new Shape(B, T * M), DType.Float64)),
            new LmOptions { Iterations = 30, Damping = 0.1, Gradient = GradientMode.Unrolled });
        Assert.Equal(sol.U.ToDoubleArray(), res.U.Value.ToDoubleArray(), new Tol(1e-9));
        pp.Loss(F.Reshape(res.U, B, T, M)).Backward();
        var unr = pp.Params.Select(p => p.Grad!.Value.ToDoubleArray()).ToArray();
        for (int i = 0; i < imp.Length; i++) for (int j = 0; j < imp[i].Length; j++) Assert.Equal(imp[i][j], unr[i][j], 1e-7);
        _ = N;
    }

    private sealed class Tol(double t) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= t;
        public int GetHashCode(double v) => 0;
    }
}

/// <summary>Implicit iLQR gradients on nonlinear dynamics: exact (Lagrangian Hessian) vs finite differences; GN differs.</summary>
public class NonlinearImplicitTests
{
    [Fact]
    public void ExactHessianImplicitMatchesFiniteDifferencesOnPendulum()
    {
        int tested = 0;
        FsCheck.Fluent.Prop.ForAll(FsCheck.Fluent.Gen.Choose(1, 100000).ToArbitrary(), seed =>
        {
            const int B = 2, T = 8;
            var rng = new Random(seed);
            // Parameterized pendulum: gravity gain and input gain are parameters, as is x0 (θ, θ̇).
            var gain = new Var(Tensor.FromDoubles([15 + rng.NextDouble(), 3 + rng.NextDouble()], new Shape(2), DType.Float64), requiresGrad: true);
            var x0v = new double[B * 2];
            for (int b = 0; b < B; b++) { x0v[b * 2] = Math.PI * (2 * rng.NextDouble() - 1); x0v[b * 2 + 1] = 2 * rng.NextDouble() - 1; }
            var x0 = new Var(Tensor.FromDoubles(x0v, new Shape(B, 2), DType.Float64), requiresGrad: true);
            DynamicsFn f = (x, u) =>
            {
                var th = F.Narrow(x, 1, 0, 1); var w = F.Narrow(x, 1, 1, 1);
                var w1 = w + 0.05 * (F.Narrow(gain, 0, 0, 1) * F.Sin(th) + F.Narrow(gain, 0, 1, 1) * u);
                return F.Concat([th + 0.05 * w1, w1], 1);
            };
            var problem = new TrajProblem(2, 1, T, f,
                (x, u, t) => F.Sum(1 - F.Cos(F.Narrow(x, 1, 0, 1)), 1) + 0.05 * F.Sum(F.Square(x), 1) + 0.1 * F.Sum(F.Square(u), 1),
                x => 5.0 * F.Sum(1 - F.Cos(F.Narrow(x, 1, 0, 1)), 1) + F.Sum(F.Square(x), 1));
            var weights = new Var(Tensor.FromDoubles(Enumerable.Range(0, B * T).Select(i => Math.Sin(i + seed)).ToArray(), new Shape(B, T, 1), DType.Float64));
            var opts = new IlqrOptions { MaxIterations = 200, GradientTolerance = 1e-11, CostTolerance = 0 };
            var u0 = Tensor.Zeros(new Shape(B, T, 1), DType.Float64);
            var sol = Ilqr.Solve(problem, x0.Value, u0, opts);
            if (!sol.AllConverged) return true; // a saddle or a flat start: not the case under test
            tested++;
            F.Sum(IlqrImplicit.Attach(problem, x0, sol) * weights).Backward();
            var gGain = gain.Grad!.Value.ToDoubleArray();
            var gX0 = x0.Grad!.Value.ToDoubleArray();
            double Loss()
            {
                var s = Ilqr.Solve(problem, x0.Value, sol.U, opts); // warm start: stay on the same local solution
                return F.Sum(new Var(s.U) * weights).Item();
            }
            foreach (var (p, g) in new[] { (gain, gGain), (x0, gX0) })
            {
                var span = p.Value.AsSpan<double>();
                for (int i = 0; i < span.Length; i++)
                {
                    double keep = span[i], h = 1e-6;
                    span[i] = keep + h; double up = Loss();
                    span[i] = keep - h; double dn = Loss();
                    span[i] = keep;
                    double fd = (up - dn) / (2 * h);
                    Assert.True(Math.Abs(fd - g[i]) <= 1e-4 * (1 + Math.Abs(fd)), $"seed {seed}: {p.Shape} entry {i}: implicit {g[i]}, finite difference {fd}");
                }
            }
            return true;
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(5));
        Assert.True(tested >= 3, $"only {tested} of 5 random problems converged");
    }
}
