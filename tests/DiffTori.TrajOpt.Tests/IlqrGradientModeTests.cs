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

        public RandomProblem(int seed, DType dtype = DType.Float64, int? n = null, int? m = null, int? horizon = null, int? batch = null)
        {
            var rng = new Random(seed);
            _dtype = dtype;
            N = n ?? rng.Next(1, 4); M = m ?? rng.Next(1, 3); T = horizon ?? rng.Next(2, 6); B = batch ?? rng.Next(1, 4);
            var a = Rand(rng, N * N, 0.25);
            for (int i = 0; i < N; i++) a[i * N + i] += 0.9;
            A = P(a, N, N);
            Bu = P(Rand(rng, N * M, 0.8), N, M);
            E = P(Rand(rng, N, 0.15), N);
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
    /// Every parameter entry against a central difference of run(); run returns the loss and the recorded
    /// decisions, and an entry whose perturbation changes a decision is skipped (a kink of the map, not a derivative).
    /// </summary>
    private static int CompareWithFiniteDifferences(Var[] ps, double[][] grads, IReadOnlyList<IlqrRecordedIteration> decisions,
        Func<(double Loss, IReadOnlyList<IlqrRecordedIteration> Decisions)> run, double tol, string what)
    {
        int compared = 0, total = 0;
        const double h = 1e-6;
        for (int pi = 0; pi < ps.Length; pi++)
        {
            var span = ps[pi].Value.AsSpan<double>();
            for (int i = 0; i < span.Length; i++)
            {
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
            var res = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Unrolled, o);
            Assert.Equal(3, res.Recorded.Count);
            rp.Loss(res.U).Backward();
            CompareWithFiniteDifferences(rp.Params, Gradients(rp.Params), res.Recorded, () =>
            {
                var r = IlqrGradients.Solve(problem, rp.X0, rp.Zeros(), GradientMode.Unrolled, o);
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
}
