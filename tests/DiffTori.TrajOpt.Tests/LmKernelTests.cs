using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The graph-free planning kernel (MlpShootingResidual.Kernel) and the Sherman–Morrison scalar step against
/// the general path: the Var residual with autodiff Jacobians, and a dense solve of (ggᵀ + λI)δ = −g·r.
/// </summary>
public class LmKernelTests
{
    /// <summary>A random small latent-planning problem: widths straddle the 16- and 64-column SIMD blocks and their tails.</summary>
    internal sealed record Case(int Seed, int Latent, int Action, int Horizon, int Hidden, int Activation, bool WithPolicy)
    {
        public override string ToString() => $"seed {Seed}, n {Latent}, m {Action}, H {Horizon}, hidden {Hidden}, act {Activation}, π {WithPolicy}";
    }

    private static readonly Gen<Case> Cases =
        from seed in Gen.Choose(1, 100000)
        from latent in Gen.Elements(1, 3, 7, 17, 20)
        from action in Gen.Choose(1, 4)
        from horizon in Gen.Choose(1, 3)
        from hidden in Gen.Elements(5, 16, 33, 70)
        from act in Gen.Choose(0, 2)
        from pi in Gen.Elements(true, false)
        select new Case(seed, latent, action, horizon, hidden, act, pi);

    internal sealed class Model
    {
        public readonly Sequential Dyn, Rew, Value;
        public readonly Sequential? Pi;
        public readonly MlpShootingResidual Plan;
        public readonly Var X0;
        public readonly Case C;

        public Model(Case c, int batch = 2)
        {
            C = c;
            var rng = new RandomGenerator((ulong)c.Seed);
            Func<Layer> act = c.Activation switch { 0 => () => new Elu(), 1 => () => new Autodiff.Nn.Tanh(), _ => () => new Relu() };
            Dyn = Mlp.Build([c.Latent + c.Action, c.Hidden, c.Latent], act, rng);
            Rew = Mlp.Build([c.Latent + c.Action, c.Hidden, c.Hidden, 1], act, rng);
            Pi = c.WithPolicy ? Mlp.Build([c.Latent, c.Hidden, c.Action], act, rng, outputActivation: () => new Autodiff.Nn.Tanh()) : null;
            Value = Mlp.Build([c.Latent + (c.WithPolicy ? c.Action : 0), c.Hidden, 1], act, rng);
            Plan = new MlpShootingResidual(Dyn, Rew, Value, Pi, c.Latent, c.Action, c.Horizon, discount: 0.9, offset: 3);
            X0 = new Var(Uniform(new Random(c.Seed + 1), batch * c.Latent, 1.0, new Shape(batch, c.Latent)), requiresGrad: true);
        }

        public int D => C.Horizon * C.Action;

        public IEnumerable<Var> Parameters() => new[] { Dyn, Rew, Value }.Concat(Pi is null ? [] : [Pi]).SelectMany(s => s.Parameters()).Append(X0);
    }

    private static Tensor Uniform(Random rng, int count, double scale, Shape shape)
    {
        var v = new double[count];
        for (int i = 0; i < count; i++) v[i] = scale * (2 * rng.NextDouble() - 1);
        return Tensor.FromDoubles(v, shape, DType.Float32);
    }

    private static void Close(double expected, double actual, double tol, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tol * (1 + Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    [Fact]
    public void KernelValueAndGradientMatchTheResidual() =>
        Prop.ForAll(Cases.ToArbitrary(), c => CheckKernel(c)).Check(Config.QuickThrowOnFailure.WithMaxTest(30));

    /// <summary>Hidden layers of 384×384 (≥ 128k elements) take the two-core split of the matrix–vector products.</summary>
    [Fact]
    public void KernelMatchesTheResidualWithLayersSplitOverTheCores()
    {
        CheckKernel(new Case(11, 20, 3, 2, 384, 0, true));
        CheckKernel(new Case(12, 17, 2, 1, 390, 1, false));
    }

    /// <summary>
    /// The kernel reads the large and the narrow layers from packed copies: a new Kernel(x0) after the weights
    /// change must compute with the new weights (every solve takes one; an agent trains between solves).
    /// </summary>
    [Fact]
    public void KernelTakesTheWeightsAsTheyAreWhenItIsTaken()
    {
        var c = new Case(13, 20, 3, 2, 384, 0, true);
        var m = new Model(c);
        var u = Uniform(new Random(5), 2 * m.D, 1.0, new Shape(2, m.D)).ToArray<float>();
        float before = m.Plan.Kernel(m.X0)!.Evaluate(0, u.AsSpan(0, m.D), default);
        // Every packed layer of the reward: its first (narrow) and its hidden (large) Linear.
        foreach (var layer in new[] { m.Rew[0], m.Rew[2] })
        {
            var w = ((Linear)layer).Weight.Value.AsSpan<float>();
            for (int i = 0; i < w.Length; i++) w[i] *= 1.5f;
        }
        float after = m.Plan.Kernel(m.X0)!.Evaluate(0, u.AsSpan(0, m.D), default);
        Assert.NotEqual(before, after);
        CheckKernel(c, m);
    }

    private static void CheckKernel(Case c, Model? model = null)
    {
        var m = model ?? new Model(c);
        var kernel = m.Plan.Kernel(m.X0) ?? throw new InvalidOperationException("no kernel: " + m.Plan.KernelUnsupportedReason());
        var u = new Var(Uniform(new Random(c.Seed + 2), 2 * m.D, 1.0, new Shape(2, m.D)));
        var (r, J) = LevenbergMarquardt.ResidualAndJacobian(m.Plan.Residual(m.X0), u, record: false);
        var rv = r.Value.ToDoubleArray();
        var jv = J.Value.ToDoubleArray();
        var uv = u.Value.ToArray<float>();
        var grad = new float[m.D];
        for (int b = 0; b < 2; b++)
        {
            float value = kernel.Evaluate(b, uv.AsSpan(b * m.D, m.D), grad);
            Close(rv[b], value, 1e-5, $"{c}: r[{b}]");
            Close(rv[b], kernel.Evaluate(b, uv.AsSpan(b * m.D, m.D), default), 1e-5, $"{c}: r[{b}] without gradient");
            double scale = jv.Skip(b * m.D).Take(m.D).Max(Math.Abs);
            for (int i = 0; i < m.D; i++)
                Assert.True(Math.Abs(jv[b * m.D + i] - grad[i]) <= 1e-4 * (scale + 1e-3), $"{c}: ∂r/∂u[{b}, {i}] expected {jv[b * m.D + i]}, got {grad[i]}");
        }
    }

    private static LmOptions Options(GradientMode mode, int iterations, bool adaptive, int truncated = 0) => new()
    {
        Iterations = iterations, Damping = 0.5, StepSize = 0.05, Lower = -1, Upper = 1, AdaptiveDamping = adaptive,
        Gradient = mode, TruncatedSteps = truncated,
    };

    [Fact]
    public void SolveWithKernelMatchesTheGeneralPath() =>
        Prop.ForAll(Cases.ToArbitrary(), Gen.Elements(true, false).ToArbitrary(), (c, adaptive) =>
        {
            var m = new Model(c);
            var init = new Var(Uniform(new Random(c.Seed + 3), 2 * m.D, 0.5, new Shape(2, m.D)));
            var o = Options(GradientMode.None, 8, adaptive);
            var general = LevenbergMarquardt.Solve(m.Plan.Residual(m.X0), init, o);
            var fast = LevenbergMarquardt.Solve(m.Plan.Residual(m.X0), init, o, m.Plan.Kernel(m.X0));
            // Adaptive damping keeps or rejects a step by comparing ½r² before and after: where the two barely differ,
            // float32 rounding may decide one way on one path and the other way on the other, and the solves part (λ tells).
            if (adaptive && Enumerable.Range(0, 2).Any(e => general.Status[e].Regularization != fast.Status[e].Regularization)) return;
            var a = general.U.Value.ToDoubleArray();
            var b = fast.U.Value.ToDoubleArray();
            for (int i = 0; i < a.Length; i++) Close(a[i], b[i], 1e-4, $"{c}: u[{i}]");
            Assert.Equal(general.FactorizationFailures, fast.FactorizationFailures);
            for (int e = 0; e < 2; e++)
            {
                Close(general.Status[e].Cost, fast.Status[e].Cost, 1e-4, $"{c}: cost[{e}]");
                Close(general.Status[e].GradientNorm, fast.Status[e].GradientNorm, 1e-3, $"{c}: gradient norm[{e}]");
                Assert.Equal(general.Status[e].Regularization, fast.Status[e].Regularization);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(20));

    /// <summary>Truncated backward (last 2 of 6 iterations recorded): the kernel runs the first 4; every parameter gradient is unchanged.</summary>
    [Fact]
    public void TruncatedGradientsWithKernelMatchTheGeneralPath() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var grads = new List<double[]>[2];
            for (int pass = 0; pass < 2; pass++)
            {
                var m = new Model(c);
                var init = new Var(Uniform(new Random(c.Seed + 3), 2 * m.D, 0.5, new Shape(2, m.D)));
                var res = LevenbergMarquardt.Solve(m.Plan.Residual(m.X0), init, Options(GradientMode.Truncated, 6, false, truncated: 2),
                    pass == 1 ? m.Plan.Kernel(m.X0) : null);
                var w = new Var(Uniform(new Random(c.Seed + 4), 2 * m.D, 1.0, res.U.Shape));
                F.Sum(res.U * w).Backward();
                grads[pass] = m.Parameters().Select(p => p.Grad?.Value.ToDoubleArray() ?? new double[p.Value.Length]).ToList();
            }
            for (int p = 0; p < grads[0].Count; p++)
            {
                double scale = grads[0][p].Select(Math.Abs).DefaultIfEmpty(0).Max();
                for (int i = 0; i < grads[0][p].Length; i++)
                    Assert.True(Math.Abs(grads[0][p][i] - grads[1][p][i]) <= 2e-3 * (scale + 1e-4),
                        $"{c}: parameter {p}[{i}] gradient {grads[0][p][i]} general vs {grads[1][p][i]} with kernel");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(12));

    /// <summary>One scalar-residual step in float64 against a dense Gaussian-elimination solve of (ggᵀ + λI)δ = −g·r.</summary>
    [Fact]
    public void ScalarStepMatchesADenseSolve() =>
        Prop.ForAll(Gen.Choose(1, 100000).ToArbitrary(), Gen.Choose(1, 6).ToArbitrary(), (seed, d) =>
        {
            var rng = new Random(seed);
            var c = new double[d];
            var u0 = new double[d];
            for (int i = 0; i < d; i++) { c[i] = 2 * rng.NextDouble() - 1; u0[i] = 2 * rng.NextDouble() - 1; }
            double lambda = 0.05 + rng.NextDouble();
            // r(u) = 2 + Σ c_i sin(u_i), g_i = c_i cos(u_i).
            var cv = new Var(Tensor.FromDoubles(c, new Shape(1, d), DType.Float64));
            ResidualFn residual = u => 2.0 + F.Sum(Residuals.Tile(cv, u.Shape[0]) * F.Sin(u), 1, keepDims: true);
            var res = LevenbergMarquardt.Solve(residual, new Var(Tensor.FromDoubles(u0, new Shape(1, d), DType.Float64)),
                new LmOptions { Iterations = 1, Damping = lambda, Gradient = GradientMode.None });
            double r = 2;
            var g = new double[d];
            for (int i = 0; i < d; i++) { r += c[i] * Math.Sin(u0[i]); g[i] = c[i] * Math.Cos(u0[i]); }
            var a = new double[d, d + 1];
            for (int i = 0; i < d; i++)
            {
                for (int j = 0; j < d; j++) a[i, j] = g[i] * g[j] + (i == j ? lambda : 0);
                a[i, d] = -g[i] * r;
            }
            var delta = GaussSolve(a, d);
            var u = res.U.Value.ToDoubleArray();
            for (int i = 0; i < d; i++) Close(u0[i] + delta[i], u[i], 1e-12, $"seed {seed}, d {d}: u[{i}]");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));

    private static double[] GaussSolve(double[,] a, int n)
    {
        for (int k = 0; k < n; k++)
        {
            int p = k;
            for (int i = k + 1; i < n; i++) if (Math.Abs(a[i, k]) > Math.Abs(a[p, k])) p = i;
            for (int j = 0; j <= n; j++) (a[k, j], a[p, j]) = (a[p, j], a[k, j]);
            for (int i = k + 1; i < n; i++)
            {
                double f = a[i, k] / a[k, k];
                for (int j = k; j <= n; j++) a[i, j] -= f * a[k, j];
            }
        }
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = a[i, n];
            for (int j = i + 1; j < n; j++) s -= a[i, j] * x[j];
            x[i] = s / a[i, i];
        }
        return x;
    }

    /// <summary>λ = 0 makes ggᵀ + λI singular (D ≥ 2): as the guarded Cholesky, λ rises to 1e-6 and the failure is counted.</summary>
    [Fact]
    public void ZeroDampingOnAScalarResidualIsRaisedAsByTheGuard()
    {
        var m = new Model(new Case(7, 3, 2, 2, 16, 0, true), batch: 1);
        var init = new Var(Tensor.Zeros(new Shape(1, m.D), DType.Float32));
        var o = new LmOptions { Iterations = 3, Damping = 0, StepSize = 0.01, Gradient = GradientMode.None };
        foreach (var kernel in new[] { null, m.Plan.Kernel(m.X0) })
        {
            var res = LevenbergMarquardt.Solve(m.Plan.Residual(m.X0), init, o, kernel);
            Assert.Equal(1, res.FactorizationFailures);
            Assert.Equal(1e-6, res.Status[0].Regularization);
        }
    }

    [Fact]
    public void UnsupportedLayersGiveNoKernelAndTheSolverStillWorks()
    {
        var rng = new RandomGenerator(3);
        var dyn = new Sequential(new Linear(5, 8, rng), new Sigmoid(), new Linear(8, 3, rng));
        var rew = Mlp.Build([5, 8, 1], () => new Elu(), rng);
        var q = Mlp.Build([3, 8, 1], () => new Elu(), rng);
        var plan = new MlpShootingResidual(dyn, rew, q, null, 3, 2, 2, 0.9, 5);
        var x0 = new Var(Tensor.Zeros(new Shape(1, 3), DType.Float32));
        Assert.Null(plan.Kernel(x0));
        Assert.Contains("Sigmoid", plan.KernelUnsupportedReason());
        var res = LevenbergMarquardt.Solve(plan.Residual(x0), new Var(Tensor.Zeros(new Shape(1, 4), DType.Float32)),
            new LmOptions { Iterations = 2, Damping = 1, StepSize = 0.1, Gradient = GradientMode.None }, plan.Kernel(x0));
        Assert.All(res.U.Value.ToDoubleArray(), v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void MismatchedShapesAreReportedWithTheirSizes()
    {
        var m = new Model(new Case(9, 3, 2, 2, 16, 0, false));
        var ex = Assert.Throws<TensorShapeException>(() => m.Plan.Kernel(new Var(Tensor.Zeros(new Shape(1, 4), DType.Float32))));
        Assert.Contains("[B, 3]", ex.Message);
        var wrongNet = new MlpShootingResidual(m.Dyn, m.Rew, m.Value, null, latentDim: 3, actionDim: 1, horizon: 2, 0.9, 1);
        var ex2 = Assert.Throws<TensorShapeException>(() => wrongNet.Kernel(m.X0));
        Assert.Contains("dynamics", ex2.Message);
        var ex3 = Assert.Throws<TensorShapeException>(() => LevenbergMarquardt.Solve(m.Plan.Residual(m.X0),
            new Var(Tensor.Zeros(new Shape(2, 5), DType.Float32)), new LmOptions { Iterations = 1 }, m.Plan.Kernel(m.X0)));
        Assert.Contains("kernel", ex3.Message);
    }
}
