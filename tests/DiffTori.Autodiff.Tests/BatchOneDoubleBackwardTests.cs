using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;
using static DiffTori.Autodiff.Tests.AutodiffGens;

namespace DiffTori.Autodiff.Tests;

/// <summary>
/// The batch-1 double backward that DiffTORI's recorded LM iterations take: a createGraph Jacobian in the input x
/// only (its rules skip the weight gradients the pass drops), then a plain backward into the weights (a·W's rule
/// runs one pass over W and adds straight into W's Grad). Checked against float64 finite differences on random
/// sizes incl. one-wide layers, and for accumulation into an existing or deferred-zero Grad.
/// </summary>
public class BatchOneDoubleBackwardTests
{
    /// <summary>⟨u, ∂⟨v, W2·elu(W1·x + b1) + b2⟩/∂x⟩ for x [1, n]: the input-gradient's functional, differentiable in every input.</summary>
    private static Func<Var[], Var> InputJacobianFunctional(Shape outShape, Shape xShape, int seed) => xs =>
    {
        var x = xs[0];
        var xLeaf = x.RequiresGrad ? x : new Var(x.Value, requiresGrad: true);
        var y = F.Linear(F.LinearElu(xLeaf, xs[1], xs[2]), xs[3], xs[4]);
        var gx = Autograd.Grad([y], [xLeaf], [new Var(Values(outShape, seed + 1).Cast(x.DType))], createGraph: true)[0];
        return F.Sum(gx * new Var(Values(xShape, seed + 2).Cast(x.DType)));
    };

    private static Tensor[] Inputs(int n, int hidden, int outF, int seed) =>
    [
        AwayFromZero(new Shape(1, n), seed), Values(new Shape(hidden, n), seed + 3, -1, 1), AwayFromZero(new Shape(hidden), seed + 4),
        Values(new Shape(outF, hidden), seed + 5, -1, 1), Values(new Shape(outF), seed + 6),
    ];

    [Fact]
    public void InputJacobianBackwardMatchesFiniteDifferences() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(20), Prop.ForAll(
            (from n in Gen.Choose(1, 9) from hidden in Gen.Elements(1, 2, 5, 17) from outF in Gen.Choose(1, 6) from seed in Gen.Choose(0, 10_000)
             select (n, hidden, outF, seed)).ToArbitrary(), s =>
            {
                var f = InputJacobianFunctional(new Shape(1, s.outF), new Shape(1, s.n), s.seed);
                GradCheck.Assert(f, Inputs(s.n, s.hidden, s.outF, s.seed), new GradCheckOptions(Atol: 1e-6));
            }));

    [Fact]
    public void RepeatedBackwardAccumulatesIntoTheWeightGrad()
    {
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var inputs = Inputs(6, 40, 3, 11);
            // x through a fresh leaf; b2 takes no part in ∂/∂x, so it gets no gradient.
            var vars = inputs.Select((t, i) => new Var(t.Cast(dtype), requiresGrad: i is > 0 and < 4)).ToArray();
            var f = InputJacobianFunctional(new Shape(1, 3), new Shape(1, 6), 11);
            f(vars).Backward();
            var first = vars[1..4].Select(v => v.Grad!.Value.ToDoubleArray()).ToArray();
            // Against Autograd.Grad, which takes no Grad target (each term made and summed on its own).
            var reference = Autograd.Grad([f(vars)], vars[1..4]);
            for (int i = 0; i < 3; i++)
            {
                var r = reference[i].Value.ToDoubleArray();
                for (int e = 0; e < r.Length; e++) Assert.Equal(r[e], first[i][e], dtype == DType.Float64 ? 1e-12 : 1e-5);
            }
            f(vars).Backward(); // adds into the Grads this pass owns: the one-pass rule with beta = 1
            for (int i = 1; i < 4; i++)
            {
                var twice = vars[i].Grad!.Value.ToDoubleArray();
                for (int e = 0; e < twice.Length; e++) Assert.Equal(2 * first[i - 1][e], twice[e], dtype == DType.Float64 ? 1e-12 : 1e-5);
            }
            foreach (var v in vars) v.Grad = null;
            f(vars).Backward();
            var kept = vars[3].Grad!;
            // A deferred ZeroGrad (of a Grad the pass allocated) is overwritten, not added to.
            vars[3].GradZeroPending = true;
            f(vars).Backward();
            Assert.Same(kept, vars[3].Grad);
            var again = vars[3].Grad!.Value.ToDoubleArray();
            for (int e = 0; e < again.Length; e++) Assert.Equal(first[2][e], again[e], dtype == DType.Float64 ? 1e-12 : 1e-5);
        }
    }

    [Fact]
    public void WeightSharedOverManyStepsGetsEveryTerm()
    {
        // z ← elu(W·z + b) for 9 steps at batch 1: nine rank-one terms for W, staged and added as one product.
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var w = new Var(Values(new Shape(12, 12), 5, -0.5, 0.5).Cast(dtype), requiresGrad: true);
            var b = new Var(Values(new Shape(12), 6).Cast(dtype), requiresGrad: true);
            var z0 = new Var(Values(new Shape(1, 12), 7).Cast(dtype));
            var probe = new Var(Values(new Shape(1, 12), 8).Cast(dtype));
            Var Loss()
            {
                var z = z0;
                for (int t = 0; t < 9; t++) z = F.LinearElu(z, w, b);
                return F.Sum(z * probe);
            }
            var reference = Autograd.Grad([Loss()], [w, b]);
            w.Grad = null;
            Loss().Backward();
            Loss().Backward();
            var got = w.Grad!.Value.ToDoubleArray();
            var expected = reference[0].Value.ToDoubleArray();
            for (int e = 0; e < got.Length; e++) Assert.Equal(2 * expected[e], got[e], dtype == DType.Float64 ? 1e-12 : 1e-5);
        }
    }

    [Fact]
    public void JacobianInTheInputLeavesWeightGradsAloneAndMatchesConstantWeights()
    {
        var inputs = Inputs(5, 33, 2, 4);
        var trainable = inputs.Select((t, i) => new Var(t, requiresGrad: true)).ToArray();
        var constant = inputs.Select((t, i) => new Var(t, requiresGrad: i == 0)).ToArray();
        Var[] Jac(Var[] v)
        {
            var y = F.Linear(F.LinearElu(v[0], v[1], v[2]), v[3], v[4]);
            return Autograd.Grad([y], [v[0]], [new Var(Values(new Shape(1, 2), 9))], createGraph: true);
        }
        var a = Jac(trainable)[0].Value.ToDoubleArray();
        var b = Jac(constant)[0].Value.ToDoubleArray();
        Assert.Equal(b, a);
        Assert.All(trainable.Skip(1), v => Assert.Null(v.Grad));
    }
}
