using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// iLQR's unrolled and truncated gradients (<see cref="IlqrGradients"/>) against central finite differences of
/// the very function each mode differentiates (same iteration counts, same step sizes and active sets: entries
/// whose perturbation changes a decision are skipped), in float64; plus their limits (implicit gradient,
/// truncation through everything) and the batch, float32 and detach behaviour.
/// </summary>
public class IlqrGradientModeTests
{
    /// <summary>
    /// A random smooth problem with every parameter a Var:
    ///   f(x, u) = A x + Bu u + e ⊙ sin(x)
    ///   ℓ(x, u) = ½ Σ w x² + ½|u|² + cᵀx + uᵀP x + sᵀ sin(u),   ℓ_T(x) = ½ Σ w_T x².
    /// The sin terms make the Jacobians and Hessians depend on the nominal; |s| &lt; 0.2 keeps ℓ_uu positive definite.
    /// </summary>
    internal sealed class RandomProblem
    {
        public readonly int N, M, T, B;
        public readonly Var A, Bu, E, W, Cv, Pm, S, Wf, X0;
        public readonly double[] LossWeights;
        private readonly DType _dtype;

        public RandomProblem(int seed, DType dtype = DType.Float64, int? n = null, int? m = null, int? horizon = null, int? batch = null, double nonlinearity = 0.15)
        {
            var rng = new Random(seed);
            _dtype = dtype;
            N = n ?? rng.Next(1, 4); M = m ?? rng.Next(1, 3); T = horizon ?? rng.Next(2, 6); B = batch ?? rng.Next(1, 4);
            var a = Rand(rng, N * N, 0.25);
            for (int i = 0; i < N; i++) a[i * N + i] += 0.9;
            A = P(a, N, N);
            Bu = P(Rand(rng, N * M, 0.8), N, M);
            E = P(Rand(rng, N, nonlinearity), N);
            W = P(Rand(rng, N, 0.3).Select(v => v + 1).ToArray(), N);
            Cv = P(Rand(rng, N, 0.8), N);
            Pm = P(Rand(rng, M * N, 0.2), M, N);
            S = P(Rand(rng, M, 0.18), M);
            Wf = P(Rand(rng, N, 0.3).Select(v => v + 2).ToArray(), N);
            X0 = P(Rand(rng, B * N, 1.5), B, N);
            LossWeights = Rand(rng, B * T * M, 1.0);
        }

        public Var[] Params => [A, Bu, E, W, Cv, Pm, S, Wf, X0];

        public TrajProblem Problem(double? bound = null)
        {
            var p = new TrajProblem(N, M, T,
                (x, u) => F.Matmul(x, A, transB: true) + F.Matmul(u, Bu, transB: true) + E * F.Sin(x),
                (x, u, t) => 0.5 * F.Sum(W * F.Square(x), 1) + 0.5 * F.Sum(F.Square(u), 1) + F.Sum(Cv * x, 1)
                             + F.Sum(u * F.Matmul(x, Pm, transB: true), 1) + F.Sum(S * F.Sin(u), 1),
                x => 0.5 * F.Sum(Wf * F.Square(x), 1));
            return bound is { } b ? p.WithBounds(-b, b) : p;
        }

        public Var Zeros() => new(Tensor.Zeros(new Shape(B, T, M), _dtype));
        public Var Loss(Var u) => F.Sum(u * new Var(Tensor.FromDoubles(LossWeights, u.Shape, _dtype)));

        private Var P(double[] v, params int[] shape) => new(Tensor.FromDoubles(v, new Shape(shape), _dtype), requiresGrad: true);
        private static double[] Rand(Random rng, int k, double s) { var v = new double[k]; for (int i = 0; i < k; i++) v[i] = s * (2 * rng.NextDouble() - 1); return v; }
    }

    /// <summary>No convergence test can fire: exactly MaxIterations recorded iterations.</summary>
    private static IlqrOptions Fixed(int iterations) => new() { MaxIterations = iterations, CostTolerance = 0, GradientTolerance = 0, RegInit = 1e-8, RegMin = 1e-8 };

    private static bool SameDecisions(IReadOnlyList<IlqrRecordedIteration> a, IReadOnlyList<IlqrRecordedIteration> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.SameDecisions(p.Second));

    private static double[][] Gradients(Var[] ps) => ps.Select(p => p.Grad?.Value.ToDoubleArray() ?? new double[p.Length]).ToArray();

    private static void ClearGrads(Var[] ps) { foreach (var p in ps) p.Grad = null; }

    /// <summary>
    /// Every parameter entry (or every sampleEvery-th, plus each parameter's first) against a central difference of run(); run returns the loss and the recorded
    /// decisions, and an entry whose perturbation changes a decision is skipped (a kink of the map, not a derivative).
    /// </summary>
    private static int CompareWithFiniteDifferences(Var[] ps, double[][] grads, IReadOnlyList<IlqrRecordedIteration> decisions,
        Func<(double Loss, IReadOnlyList<IlqrRecordedIteration> Decisions)> run, double tol, string what, int sampleEvery = 1)
    {
        int compared = 0, total = 0, entry = 0;
        const double h = 1e-6;
        for (int pi = 0; pi < ps.Length; pi++)
        {
            var span = ps[pi].Value.AsSpan<double>();
            for (int i = 0; i < span.Length; i++)
            {
                // Sampling: every sampleEvery-th entry, but the first entry of each parameter always.
                if (i > 0 && entry++ % sampleEvery != 0) continue;
                double keep = span[i];
                span[i] = keep + h; var up = run();
                span[i] = keep - h; var down = run();
                span[i] = keep;
                total++;
                if (!SameDecisions(up.Decisions, decisions) || !SameDecisions(down.Decisions, decisions)) continue;
                compared++;
                double fd = (up.Loss - down.Loss) / (2 * h);
                Assert.True(Math.Abs(fd - grads[pi][i]) <= tol * (1 + Math.Abs(fd)),
                    $"{what}: parameter {pi} {ps[pi].Shape} entry {i}: analytic {grads[pi][i]}, finite difference {fd}");
            }
        }
        Assert.True(compared * 2 >= total, $"{what}: only {compared} of {total} entries kept their decisions under perturbation");
        return compared;
    }

    private static readonly Arbitrary<int> Seeds = Gen.Choose(1, 1_000_000).ToArbitrary();

    [Fact]
    public void UnrolledMatchesFiniteDifferencesOfTheUnrolledMap() =>
        Prop.ForAll(Seeds, seed =>
        {
            var rp = new RandomProblem(seed);
            var problem = rp.Problem();
            var o = Fixed(3);
            // The initial controls are differentiated too: unrolling starts from them.
            var rng = new Random(seed);
            var uInit = new Var(Tensor.FromDoubles(Enumerable.Range(0, rp.B * rp.T * rp.M).Select(_ => 0.3 * rng.NextDouble() - 0.15).ToArray(),
                new Shape(rp.B, rp.T, rp.M), DType.Float64), requiresGrad: true);
            Var[] ps = [.. rp.Params, uInit];
            var res = IlqrGradients.Solve(problem, rp.X0, uInit, GradientMode.Unrolled, o);
            Assert.Equal(3, res.Recorded.Count);
            rp.Loss(res.U).Backward();
            CompareWithFiniteDifferences(ps, Gradients(ps), res.Recorded, () =>
            {
                var r = IlqrGradients.Solve(problem, rp.X0, uInit, GradientMode.Unrolled, o);
                return (rp.Loss(r.U).Value.Item(), r.Recorded);
            }, 2e-6, $"unrolled (seed {seed}, n {rp.N}, m {rp.M}, T {rp.T}, B {rp.B})");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(8));

    [Fact]
    public void TruncatedMatchesFiniteDifferencesOfTheLastKIterations() =>
        Prop.ForAll(Seeds, Gen.Choose(1, 3).ToArbitrary(), (seed, k) =>
        {
            var rp = new RandomProblem(seed);
            var problem = rp.Problem();
            const int total = 4;
            var res = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Truncated, Fixed(total), truncatedSteps: k);
            Assert.Equal(k, res.Recorded.Count);
            Assert.All(res.Status, s => Assert.Equal(total, s.Iterations));
            rp.Loss(res.U).Backward();
            // The first total − k iterations are a constant for the truncated gradient: freeze their output,
            // then the function differentiated is "k recorded iterations from there".
            var warm = new Var(Ilqr.Solve(problem, rp.X0.Value, rp.Zeros().Value, Fixed(total - k)).U);
            CompareWithFiniteDifferences(rp.Params, Gradients(rp.Params), res.Recorded, () =>
            {
                var r = IlqrGradients.Solve(problem, rp.X0, warm, GradientMode.Truncated, Fixed(k), truncatedSteps: k);
                return (rp.Loss(r.U).Value.Item(), r.Recorded);
            }, 2e-6, $"truncated k={k} (seed {seed}, n {rp.N}, m {rp.M}, T {rp.T}, B {rp.B})");
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(8));

    /// <summary>
    /// A box that cuts the unconstrained solution: some controls end at a bound. Their gradient is exactly zero
    /// (held at the bound, or clipped to it, by the last step), the others match finite differences.
    /// </summary>
    [Fact]
    public void BoxedUnrolledAndTruncated_HeldControlsHaveZeroGradient_RestMatchFiniteDifferences()
    {
        int tested = 0, held = 0;
        Prop.ForAll(Seeds, Gen.Elements(GradientMode.Unrolled, GradientMode.Truncated).ToArbitrary(), (seed, mode) =>
        {
            var rp = new RandomProblem(seed);
            var free = Ilqr.Solve(rp.Problem(), rp.X0.Value, rp.Zeros().Value, Fixed(6)).U.ToDoubleArray();
            double bound = 0.6 * free.Max(Math.Abs);
            var problem = rp.Problem(bound);
            const int total = 4, k = 2;
            var o = Fixed(total);
            var res = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), mode, o, truncatedSteps: k);
            var u = res.U.Value.ToDoubleArray();
            var atBound = u.Select(v => Math.Abs(v) == bound).ToArray();
            int active = atBound.Count(a => a);
            if (active == 0 || active == u.Length) return true; // nothing (or everything) at the box: not the case under test
            tested++;
            held += res.Recorded.Sum(r => r.Held.Count(h => h));

            // The controls at a bound: a loss of those alone has zero gradient everywhere.
            var mask = new Var(Tensor.FromDoubles(atBound.Select(a => a ? 1.0 : 0.0).ToArray(), res.U.Shape, DType.Float64));
            rp.Loss(res.U * mask).Backward(retainGraph: true);
            foreach (var g in Gradients(rp.Params))
                Assert.All(g, v => Assert.True(Math.Abs(v) <= 1e-13, $"seed {seed} {mode}: a control at its bound has gradient {v}"));
            ClearGrads(rp.Params);

            rp.Loss(res.U).Backward();
            Func<(double, IReadOnlyList<IlqrRecordedIteration>)> run;
            if (mode == GradientMode.Unrolled)
                run = () => { var r = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), mode, o); return (rp.Loss(r.U).Value.Item(), r.Recorded); };
            else
            {
                var warm = new Var(Ilqr.Solve(problem, rp.X0.Value, rp.Zeros().Value, Fixed(total - k)).U);
                run = () => { var r = IlqrGradients.Solve(problem, rp.X0, warm, mode, Fixed(k), truncatedSteps: k); return (rp.Loss(r.U).Value.Item(), r.Recorded); };
            }
            CompareWithFiniteDifferences(rp.Params, Gradients(rp.Params), res.Recorded, run, 2e-6, $"boxed {mode} (seed {seed}, bound {bound}, {active} of {u.Length} at the box)", sampleEvery: 3);
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(8));
        Assert.True(tested >= 4, $"only {tested} of 8 boxed problems had some (not all) controls at the box");
        Assert.True(held > 0, "no recorded step held a control at its bound (only rollout clipping was exercised)");
    }

    /// <summary>Strongly nonlinear dynamics where the line search backtracks: α &lt; 1 is a constant of the graph too.</summary>
    [Fact]
    public void UnrolledWithBacktrackingMatchesFiniteDifferences()
    {
        foreach (int seed in new[] { 100, 136, 149 })
        {
            var rp = new RandomProblem(seed, nonlinearity: 1.5);
            var problem = rp.Problem();
            var o = Fixed(4);
            var res = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Unrolled, o);
            Assert.Contains(res.Recorded.SelectMany(r => r.StepSizes), a => a is > 0 and < 1);
            rp.Loss(res.U).Backward();
            CompareWithFiniteDifferences(rp.Params, Gradients(rp.Params), res.Recorded, () =>
            {
                var r = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Unrolled, o);
                return (rp.Loss(r.U).Value.Item(), r.Recorded);
            }, 2e-6, $"unrolled with backtracking (seed {seed})");
            ClearGrads(rp.Params);
        }
    }

    /// <summary>Unrolling a converging iLQR far enough gives the implicit (fixed-point) derivative with the exact Hessian.</summary>
    [Fact]
    public void UnrolledToConvergenceEqualsImplicit()
    {
        foreach (int seed in new[] { 3, 17, 40 })
        {
            var rp = new RandomProblem(seed, n: 3, m: 2, horizon: 5, batch: 2);
            var problem = rp.Problem();
            var o = new IlqrOptions { MaxIterations = 100, GradientTolerance = 1e-12, CostTolerance = 0 };
            var unrolled = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Unrolled, o);
            Assert.True(unrolled.AllConverged, string.Join(", ", unrolled.Status));
            rp.Loss(unrolled.U).Backward();
            var gu = Gradients(rp.Params);
            ClearGrads(rp.Params);
            var sol = Ilqr.Solve(problem, rp.X0.Value, rp.Zeros().Value, o);
            Assert.Equal(sol.U.ToDoubleArray(), unrolled.U.Value.ToDoubleArray(), new Tol(1e-9));
            rp.Loss(IlqrImplicit.Attach(problem, rp.X0, sol, exactHessian: true)).Backward();
            var gi = Gradients(rp.Params);
            ClearGrads(rp.Params);
            for (int i = 0; i < gi.Length; i++)
                for (int j = 0; j < gi[i].Length; j++)
                    Assert.True(Math.Abs(gi[i][j] - gu[i][j]) <= 1e-7 * (1 + Math.Abs(gi[i][j])), $"seed {seed} parameter {i} entry {j}: implicit {gi[i][j]}, unrolled {gu[i][j]}");
        }
    }

    [Fact]
    public void TruncatedThroughEveryIterationEqualsUnrolled()
    {
        var rp = new RandomProblem(5, n: 2, m: 2, horizon: 4, batch: 3);
        foreach (double? bound in new double?[] { null, 0.4 })
        {
            var problem = rp.Problem(bound);
            double[][] Grad(GradientMode mode, int k)
            {
                ClearGrads(rp.Params);
                var r = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), mode, Fixed(4), truncatedSteps: k);
                Assert.Equal(4, r.Recorded.Count);
                rp.Loss(r.U).Backward();
                return Gradients(rp.Params);
            }
            var unrolled = Grad(GradientMode.Unrolled, 0);
            foreach (int k in new[] { 4, 9 })
            {
                var truncated = Grad(GradientMode.Truncated, k);
                for (int i = 0; i < unrolled.Length; i++)
                    for (int j = 0; j < unrolled[i].Length; j++) Assert.Equal(unrolled[i][j], truncated[i][j], 1e-12);
            }
        }
        ClearGrads(rp.Params);
    }

    /// <summary>The recorded iterations reproduce Ilqr.Solve's iterates (values and status), batched and boxed.</summary>
    [Fact]
    public void UnrolledValueEqualsIlqrSolve()
    {
        var rp = new RandomProblem(8, n: 3, m: 2, horizon: 5, batch: 3);
        foreach (double? bound in new double?[] { null, 0.3 })
        {
            var problem = rp.Problem(bound);
            var o = new IlqrOptions { MaxIterations = 50 };
            var sol = Ilqr.Solve(problem, rp.X0.Value, rp.Zeros().Value, o);
            var res = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Unrolled, o);
            Assert.True(sol.AllConverged && res.AllConverged);
            Assert.Equal(sol.U.ToDoubleArray(), res.U.Value.ToDoubleArray(), new Tol(1e-8));
            for (int b = 0; b < rp.B; b++) Assert.Equal(sol.Status[b].Cost, res.Status[b].Cost, 1e-10);
        }
    }

    /// <summary>float32 runs the same recorded computation: its gradients agree with float64's to float32 accuracy.</summary>
    [Fact]
    public void Float32GradientsAgreeWithFloat64()
    {
        foreach (var mode in new[] { GradientMode.Unrolled, GradientMode.Truncated })
        {
            double[][] Run(DType dtype)
            {
                var rp = new RandomProblem(12, dtype, n: 2, m: 1, horizon: 4, batch: 2);
                var r = IlqrGradients.Solve(rp.Problem(), rp.X0, rp.Zeros(), mode, Fixed(4), truncatedSteps: 2);
                Assert.Equal(dtype, r.U.DType);
                rp.Loss(r.U).Backward();
                return Gradients(rp.Params);
            }
            var g64 = Run(DType.Float64);
            var g32 = Run(DType.Float32);
            double scale = g64.SelectMany(g => g).Max(Math.Abs);
            for (int i = 0; i < g64.Length; i++)
                for (int j = 0; j < g64[i].Length; j++)
                    Assert.True(Math.Abs(g64[i][j] - g32[i][j]) <= 1e-3 * scale, $"{mode} parameter {i} entry {j}: float64 {g64[i][j]}, float32 {g32[i][j]}");
        }
    }

    [Fact]
    public void DetachUnconvergedCutsTheGraphPerExample()
    {
        var rp = new RandomProblem(2, n: 2, m: 1, horizon: 4, batch: 2);
        var problem = rp.Problem();
        // Example 0 starts at its solution (converges), example 1 from zero gets one iteration (does not).
        var sol = Ilqr.Solve(problem, rp.X0.Value, rp.Zeros().Value, new IlqrOptions { MaxIterations = 50 }).U.ToDoubleArray();
        var init = new double[sol.Length];
        Array.Copy(sol, init, sol.Length / 2);
        var uInit = new Var(Tensor.FromDoubles(init, new Shape(2, 4, 1), DType.Float64));
        var o = new IlqrOptions { MaxIterations = 2 };
        var res = IlqrGradients.Solve(problem, rp.X0, uInit, GradientMode.Unrolled, o, detachUnconverged: true);
        Assert.True(res.Status[0].Converged);
        Assert.False(res.Status[1].Converged);
        var w = new Var(Tensor.FromDoubles([0, 0, 0, 0, 1, 1, 1, 1], new Shape(2, 4, 1), DType.Float64));
        F.Sum(res.U * w).Backward();
        Assert.All(rp.X0.Grad!.Value.ToDoubleArray(), v => Assert.Equal(0, v));
        ClearGrads(rp.Params);
        var kept = IlqrGradients.Solve(problem, rp.X0, uInit, GradientMode.Unrolled, o);
        F.Sum(kept.U * (1 - w)).Backward();
        Assert.Contains(rp.X0.Grad!.Value.ToDoubleArray(), v => v != 0);
        ClearGrads(rp.Params);
    }

    [Fact]
    public void ImplicitAndNoneModesDelegateToTheSolver()
    {
        var rp = new RandomProblem(4, n: 2, m: 2, horizon: 3, batch: 2);
        var problem = rp.Problem(0.5);
        var o = new IlqrOptions { MaxIterations = 60, GradientTolerance = 1e-10 };
        var none = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.None, o);
        Assert.False(none.U.RequiresGrad);
        var res = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Implicit, o);
        Assert.Equal(none.U.Value.ToDoubleArray(), res.U.Value.ToDoubleArray());
        rp.Loss(res.U).Backward();
        var g = Gradients(rp.Params);
        ClearGrads(rp.Params);
        rp.Loss(IlqrImplicit.Attach(problem, rp.X0, Ilqr.Solve(problem, rp.X0.Value, rp.Zeros().Value, o))).Backward();
        var direct = Gradients(rp.Params);
        ClearGrads(rp.Params);
        for (int i = 0; i < g.Length; i++) Assert.Equal(direct[i], g[i]);
    }

    [Fact]
    public void BadInputsAreNamed()
    {
        var rp = new RandomProblem(1, n: 2, m: 1, horizon: 3, batch: 2);
        var problem = rp.Problem();
        var bad = new Var(Tensor.Zeros(new Shape(2, 4, 1), DType.Float64));
        Assert.Contains("uInit", Assert.Throws<TensorShapeException>(() => IlqrGradients.Solve(problem, rp.X0, bad, GradientMode.Unrolled)).Message);
        Assert.Contains("truncatedSteps", Assert.Throws<ArgumentException>(() => IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Truncated, truncatedSteps: -1)).Message);
        var analyticOnly = new TrajProblem(1, 1, 2, null, null, null);
        Assert.Throws<InvalidOperationException>(() => IlqrGradients.Solve(analyticOnly, new Var(Tensor.Zeros(new Shape(1, 1), DType.Float64)), new Var(Tensor.Zeros(new Shape(1, 2, 1), DType.Float64)), GradientMode.Unrolled));
    }

    private sealed class Tol(double t) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= t;
        public int GetHashCode(double v) => 0;
    }
}
