using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The planning kernel on TD-MPC's TOLD shapes: LayerNorm layers (in the dynamics, the reward run over all
/// steps at once, and the Q heads), the minimum of twin Q heads and a tanh-squashed π, against the Var
/// residual and its autodiff gradient, and against float64 finite differences.
/// </summary>
public class LmKernelNormTwinTests
{
    internal sealed record Case(int Seed, int Latent, int Action, int Horizon, int Hidden, bool Twin, bool WithPolicy, bool TanhPolicy, bool Affine)
    {
        public override string ToString() =>
            $"seed {Seed}, n {Latent}, m {Action}, H {Horizon}, hidden {Hidden}, twin {Twin}, π {WithPolicy} (tanh {TanhPolicy}), affine {Affine}";
    }

    internal static readonly Gen<Case> Cases =
        from seed in Gen.Choose(1, 100000)
        from latent in Gen.Elements(1, 3, 7, 17)
        from action in Gen.Choose(1, 3)
        from horizon in Gen.Choose(1, 3)
        from hidden in Gen.Elements(4, 16, 33, 70)
        from twin in Gen.Elements(true, false)
        from pi in Gen.Elements(true, false)
        from tanh in Gen.Elements(true, false)
        from affine in Gen.Elements(true, false)
        select new Case(seed, latent, action, horizon, hidden, twin, pi, pi && tanh, affine);

    internal sealed class Model
    {
        public readonly Sequential Dyn, Rew;
        public readonly Sequential[] Values;
        public readonly Sequential? Pi;
        public readonly MlpShootingResidual Plan;

        /// <summary>Random weights (LayerNorm scales and shifts too) drawn from the seed; <paramref name="copyFrom"/> gives them its values instead.</summary>
        public Model(Case c, DType dtype, Model? copyFrom = null)
        {
            var rng = new RandomGenerator((ulong)c.Seed);
            int n = c.Latent, m = c.Action, h = c.Hidden;
            Dyn = new Sequential(new Linear(n + m, h, rng, dtype: dtype), new LayerNorm(h, elementwiseAffine: c.Affine, dtype: dtype), new Elu(),
                new Linear(h, n, rng, dtype: dtype));
            Rew = new Sequential(new Linear(n + m, h, rng, dtype: dtype), new Elu(), new Linear(h, h, rng, dtype: dtype),
                new LayerNorm(h, elementwiseAffine: c.Affine, dtype: dtype), new Autodiff.Nn.Tanh(), new Linear(h, 1, rng, dtype: dtype));
            Pi = c.WithPolicy ? Mlp.Build([n, h, m], () => new Elu(), rng, dtype: dtype) : null;
            int valueIn = n + (c.WithPolicy ? m : 0);
            Values = c.Twin ? [QHead(valueIn, h, c.Affine, rng, dtype), QHead(valueIn, h, c.Affine, rng, dtype)] : [QHead(valueIn, h, c.Affine, rng, dtype)];
            var mine = Parameters().ToList();
            if (copyFrom is null) foreach (var p in mine) Ops.FillNormal(p.Value, rng, 0, 0.5);
            else
            {
                var theirs = copyFrom.Parameters().ToList();
                for (int i = 0; i < mine.Count; i++) mine[i].Value.CopyFrom(theirs[i].Value);
            }
            Plan = new MlpShootingResidual(Dyn, Rew, Values, Pi, c.TanhPolicy, n, m, c.Horizon, discount: 0.9, offset: 3);
        }

        public IEnumerable<Var> Parameters() => new[] { Dyn, Rew }.Concat(Values).Concat(Pi is null ? [] : [Pi]).SelectMany(s => s.Parameters());
    }

    /// <summary>TD-MPC's Q head: Linear → LayerNorm → tanh → Linear → ELU → Linear(1).</summary>
    private static Sequential QHead(int input, int hidden, bool affine, RandomGenerator rng, DType dtype) => new(
        new Linear(input, hidden, rng, dtype: dtype), new LayerNorm(hidden, elementwiseAffine: affine, dtype: dtype), new Autodiff.Nn.Tanh(),
        new Linear(hidden, hidden, rng, dtype: dtype), new Elu(), new Linear(hidden, 1, rng, dtype: dtype));

    internal static Tensor Uniform(int seed, int rows, int cols, double scale, DType dtype = DType.Float32)
    {
        var rng = new Random(seed);
        var v = new double[rows * cols];
        for (int i = 0; i < v.Length; i++) v[i] = scale * (2 * rng.NextDouble() - 1);
        return Tensor.FromDoubles(v, new Shape(rows, cols), dtype);
    }

    internal static IScalarResidualKernel KernelOf(MlpShootingResidual plan, Var x0) =>
        plan.Kernel(x0) ?? throw new InvalidOperationException("no kernel: " + plan.KernelUnsupportedReason());

    [Fact]
    public void KernelValueAndGradientMatchTheResidual() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var model = new Model(c, DType.Float32);
            int d = c.Horizon * c.Action;
            var x0 = new Var(Uniform(c.Seed + 1, 2, c.Latent, 1.0));
            var u = new Var(Uniform(c.Seed + 2, 2, d, 1.0));
            var kernel = KernelOf(model.Plan, x0);
            var (r, J) = LevenbergMarquardt.ResidualAndJacobian(model.Plan.Residual(x0), u, record: false);
            var rv = r.Value.ToDoubleArray();
            var jv = J.Value.ToDoubleArray();
            var uv = u.Value.ToArray<float>();
            var grad = new float[d];
            for (int b = 0; b < 2; b++)
            {
                float value = kernel.Evaluate(b, uv.AsSpan(b * d, d), grad);
                Assert.True(Math.Abs(rv[b] - value) <= 1e-5 * (1 + Math.Abs(rv[b])), $"{c}: r[{b}] residual {rv[b]}, kernel {value}");
                double scale = jv.Skip(b * d).Take(d).Max(Math.Abs);
                for (int i = 0; i < d; i++)
                    Assert.True(Math.Abs(jv[b * d + i] - grad[i]) <= 1e-3 * (scale + 1e-2), $"{c}: ∂r/∂u[{b}, {i}] autodiff {jv[b * d + i]}, kernel {grad[i]}");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));

    /// <summary>The float32 kernel's gradient against central differences of the float64 Var residual with the same weights.</summary>
    [Fact]
    public void KernelGradientMatchesFloat64FiniteDifferences() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var single = new Model(c, DType.Float32);
            var dbl = new Model(c, DType.Float64, copyFrom: single);
            int d = c.Horizon * c.Action;
            var x032 = Uniform(c.Seed + 1, 1, c.Latent, 1.0);
            var x064 = new Var(Uniform(c.Seed + 1, 1, c.Latent, 1.0, DType.Float64));
            x064.Value.CopyFrom(x032); // the float32-rounded start, as the kernel sees it
            var u32 = Uniform(c.Seed + 2, 1, d, 0.8);
            var uv = u32.ToArray<float>();
            var grad = new float[d];
            float value = KernelOf(single.Plan, new Var(x032)).Evaluate(0, uv, grad);

            var residual = dbl.Plan.Residual(x064);
            double R(double[] point)
            {
                using var scope = Autograd.NoGrad();
                return residual(new Var(Tensor.FromDoubles(point, new Shape(1, d), DType.Float64))).Item();
            }
            var u = Array.ConvertAll(uv, v => (double)v);
            double r0 = R(u);
            Assert.True(Math.Abs(r0 - value) <= 1e-5 * (1 + Math.Abs(r0)), $"{c}: float64 residual {r0}, kernel {value}");
            var fd = new double[d];
            const double step = 1e-6;
            for (int i = 0; i < d; i++)
            {
                var plus = (double[])u.Clone();
                var minus = (double[])u.Clone();
                plus[i] += step;
                minus[i] -= step;
                fd[i] = (R(plus) - R(minus)) / (2 * step);
            }
            double scale = fd.Max(Math.Abs);
            for (int i = 0; i < d; i++)
                Assert.True(Math.Abs(fd[i] - grad[i]) <= 1e-3 * (scale + 1e-3), $"{c}: ∂r/∂u[{i}] finite differences {fd[i]}, kernel {grad[i]}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(15));

    /// <summary>
    /// The twin minimum follows the smaller head: with one head lowered by 50 everywhere, value and gradient are
    /// those of the residual with that head alone, whichever position it has.
    /// </summary>
    [Fact]
    public void TwinMinimumFollowsTheSmallerHead()
    {
        var c = new Case(41, 5, 2, 3, 16, Twin: true, WithPolicy: true, TanhPolicy: true, Affine: true);
        var model = new Model(c, DType.Float32);
        int d = c.Horizon * c.Action;
        var x0 = new Var(Uniform(3, 2, c.Latent, 1.0));
        var uv = Uniform(4, 2, d, 1.0).ToArray<float>();
        for (int low = 0; low < 2; low++)
        {
            var head = model.Values[low];
            var lastBias = ((Linear)head[head.Count - 1]).Bias!.Value;
            lastBias.CopyFrom(Tensor.FromDoubles([-50.0], lastBias.Shape));
            var twin = KernelOf(model.Plan, x0);
            var alone = KernelOf(new MlpShootingResidual(model.Dyn, model.Rew, [model.Values[low]], model.Pi, true, c.Latent, c.Action, c.Horizon, 0.9, 3), x0);
            var g2 = new float[d];
            var g1 = new float[d];
            for (int b = 0; b < 2; b++)
            {
                Assert.Equal(alone.Evaluate(b, uv.AsSpan(b * d, d), g1), twin.Evaluate(b, uv.AsSpan(b * d, d), g2));
                Assert.Equal(g1, g2);
            }
            lastBias.CopyFrom(Tensor.FromDoubles([50.0], lastBias.Shape)); // now the other head is the smaller one
        }
    }

    /// <summary>
    /// An exact tie: z0 = 0, a = 0 and bias-free networks give z_1 = 0, π(z_1) = 0 and Q1 = Q2 = 0 with different
    /// gradients. As F.Minimum, the gradient goes to the first head; the autodiff Jacobian agrees in both orders.
    /// </summary>
    [Fact]
    public void TwinTieSendsTheGradientToTheFirstHeadAsFMinimum()
    {
        const int n = 3, m = 2;
        var rng = new RandomGenerator(9);
        Linear BiasFree(int i, int o)
        {
            var l = new Linear(i, o, rng);
            Ops.FillNormal(l.Weight.Value, rng, 0, 0.7);
            l.Bias!.Value.CopyFrom(Tensor.Zeros(l.Bias.Value.Shape, DType.Float32));
            return l;
        }
        var dyn = new Sequential(BiasFree(n + m, n));
        var rew = new Sequential(BiasFree(n + m, 4), new Elu(), BiasFree(4, 1));
        var pi = new Sequential(BiasFree(n, m));
        var q1 = new Sequential(BiasFree(n + m, 1));
        var q2 = new Sequential(BiasFree(n + m, 1));
        var x0 = new Var(Tensor.Zeros(new Shape(1, n), DType.Float32));
        var u = new Var(Tensor.Zeros(new Shape(1, m), DType.Float32));
        var gradients = new List<float[]>();
        foreach (var heads in new Sequential[][] { [q1, q2], [q2, q1] })
        {
            var plan = new MlpShootingResidual(dyn, rew, heads, pi, true, n, m, 1, 0.9, 3);
            var grad = new float[m];
            float value = KernelOf(plan, x0).Evaluate(0, new float[m], grad);
            var (r, J) = LevenbergMarquardt.ResidualAndJacobian(plan.Residual(x0), u, record: false);
            Assert.Equal(r.Item(), value, 6);
            var jv = J.Value.ToDoubleArray();
            for (int i = 0; i < m; i++) Assert.True(Math.Abs(jv[i] - grad[i]) <= 1e-6, $"∂r/∂a[{i}]: autodiff {jv[i]}, kernel {grad[i]}");
            var single = new MlpShootingResidual(dyn, rew, [heads[0]], pi, true, n, m, 1, 0.9, 3);
            var first = new float[m];
            KernelOf(single, x0).Evaluate(0, new float[m], first);
            Assert.Equal(first, grad);
            gradients.Add(grad);
        }
        Assert.True(Math.Abs(gradients[0][0] - gradients[1][0]) > 1e-3, "the heads' gradients must differ for the tie to tell them apart");
    }

    [Fact]
    public void LayerNormOverASizeOtherThanTheLayerWidthGivesNoKernel()
    {
        var rng = new RandomGenerator(2);
        var dyn = Mlp.Build([4, 8, 2], () => new Elu(), rng);
        var rew = Mlp.Build([4, 8, 1], () => new Elu(), rng);
        var q = new Sequential(new Linear(2, 4, rng), new LayerNorm(3), new Linear(4, 1, rng));
        var plan = new MlpShootingResidual(dyn, rew, [q, q], null, false, 2, 2, 2, 0.9, 5);
        Assert.Null(plan.Kernel(new Var(Tensor.Zeros(new Shape(1, 2), DType.Float32))));
        Assert.Contains("value 0", plan.KernelUnsupportedReason());
        var normFirst = new MlpShootingResidual(dyn, rew, [new Sequential(new LayerNorm(2), new Linear(2, 1, rng))], null, false, 2, 2, 2, 0.9, 5);
        Assert.Contains("before the first Linear", normFirst.KernelUnsupportedReason());
        Assert.Throws<ArgumentException>(() => new MlpShootingResidual(dyn, rew, [], null, false, 2, 2, 2, 0.9, 5));
        Assert.Throws<ArgumentException>(() => new MlpShootingResidual(dyn, rew, [q], null, true, 2, 2, 2, 0.9, 5));
    }
}
