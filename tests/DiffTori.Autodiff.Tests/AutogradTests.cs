using DiffTori.Engine;
using static DiffTori.Autodiff.Tests.TestData;

namespace DiffTori.Autodiff.Tests;

/// <summary>Grad, Vjp, Jvp, Jacobian and Hvp against closed forms, finite differences and each other.</summary>
public class AutogradTests
{
    private static readonly Var W = Random(11, -1, 1, false, 3, 4);
    private static readonly Var B = Random(12, -1, 1, false, 3);

    /// <summary>A per-sample map R⁴ → R³ (works on any leading batch axes): tanh(W·x + b)·x[..., :3].</summary>
    private static Var Model(Var x) => F.Tanh(F.Linear(x, W, B)) * F.Narrow(x, -1, 0, 3);

    [Fact]
    public void BackwardMatchesClosedForm()
    {
        var a = Leaf([1, 2, 3], 3);
        var b = Leaf([4, 5, 6], 3);
        F.Sum(a * b + a).Backward();
        Close([5, 6, 7], a.Grad!, 0);
        Close([1, 2, 3], b.Grad!, 0);
    }

    [Fact]
    public void GradReturnsGradientsWithoutTouchingGrad()
    {
        var x = Leaf([0.5, -1, 2], 3);
        var y = F.Sum(F.Exp(x) * x);
        var g = Autograd.Grad(y, [x]);
        Close(x.Value.ToDoubleArray().Select(v => Math.Exp(v) * (1 + v)).ToArray(), g[0], 1e-14);
        Assert.Null(x.Grad);
    }

    [Fact]
    public void CreateGraphGivesSecondAndThirdDerivatives()
    {
        var x = Leaf([0.5, -1.5, 2], 3);
        var y = F.Sum(F.Pow(x, 4));
        var g1 = Autograd.Grad(y, [x], createGraph: true)[0];              // 4x³
        var g2 = Autograd.Grad(F.Sum(g1), [x], createGraph: true)[0];      // 12x²
        var g3 = Autograd.Grad(F.Sum(g2), [x])[0];                         // 24x
        var xs = x.Value.ToDoubleArray();
        Close(xs.Select(v => 4 * v * v * v).ToArray(), g1, 1e-13);
        Close(xs.Select(v => 12 * v * v).ToArray(), g2, 1e-13);
        Close(xs.Select(v => 24 * v).ToArray(), g3, 1e-13);
    }

    [Fact]
    public void BackwardWithCreateGraphAccumulatesDifferentiableGrad()
    {
        var x = Leaf([0.3, 0.7], 2);
        F.Sum(F.Sin(x)).Backward(createGraph: true);
        Assert.True(x.Grad!.RequiresGrad);
        var second = Autograd.Grad(F.Sum(x.Grad), [x])[0];
        Close(x.Value.ToDoubleArray().Select(v => -Math.Sin(v)).ToArray(), second, 1e-14);
    }

    [Fact]
    public void JacobianBatchedEqualsRowByRowAndFiniteDifferences()
    {
        var x = Random(3, -1, 1, false, 4);
        int calls = 0;
        Var Counted(Var v) { calls++; return Model(v); }
        var batched = Autograd.Jacobian(Counted, x);
        Assert.Equal(2, calls); // one shape probe without a graph, then ONE batched forward and reverse pass
        Assert.Equal(new Shape(3, 4), batched.Shape);
        var rows = Autograd.Jacobian(Model, x, batched: false);
        Close(rows.Value.ToDoubleArray(), batched, 1e-14, "batched vs rows");
        for (int i = 0; i < 3; i++)
        {
            int row = i;
            var numeric = NumericGradient(v => F.Select(Model(v), 0, row), x);
            Close(numeric, batched.Value.Select(0, i).ToDoubleArray(), 1e-8, $"row {i} vs finite differences");
        }
    }

    [Fact]
    public void JacobianRejectsFunctionsThatMixTheBatch()
    {
        var x = Random(4, -1, 1, false, 3);
        var e = Assert.Throws<TensorShapeException>(() => Autograd.Jacobian(v => F.Sum(v), x));
        Assert.Contains("batched: false", e.Message);
        var j = Autograd.Jacobian(v => F.Sum(F.Square(v)), x, batched: false);
        Close(x.Value.ToDoubleArray().Select(v => 2 * v).ToArray(), j, 1e-14);
    }

    [Fact]
    public void VjpAndJvpAgreeWithTheJacobian()
    {
        var x = Random(5, -1, 1, false, 4);
        var u = Random(6, -1, 1, false, 3);
        var t = Random(7, -1, 1, false, 4);
        var j = Autograd.Jacobian(Model, x).Value.ToDoubleArray(); // [3, 4]
        var (y, vjp) = Autograd.Vjp(v => Model(v[0]), [x], u);
        var (y2, jvp) = Autograd.Jvp(v => Model(v[0]), [x], [t]);
        var us = u.Value.ToDoubleArray();
        var ts = t.Value.ToDoubleArray();
        var expectedVjp = Enumerable.Range(0, 4).Select(c => Enumerable.Range(0, 3).Sum(r => us[r] * j[r * 4 + c])).ToArray();
        var expectedJvp = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, 4).Sum(c => j[r * 4 + c] * ts[c])).ToArray();
        Close(expectedVjp, vjp[0], 1e-13, "vjp");
        Close(expectedJvp, jvp, 1e-13, "jvp");
        Close(y.Value.ToDoubleArray(), y2, 0, "outputs");
    }

    [Fact]
    public void HvpOfAQuadraticIsTheMatrixTimesV()
    {
        // f(x) = ½ xᵀAx + sum(x) with symmetric A: ∇²f = A.
        var a = Const([4, 1, 0, 1, 3, -1, 0, -1, 2], 3, 3);
        var x = Random(8, -1, 1, false, 3);
        var v = Const([1, -2, 0.5], 3);
        var (_, hv) = Autograd.Hvp(z => 0.5 * F.Sum(z * F.Matmul(a, z)) + F.Sum(z), x, v);
        Close([4 - 2, 1 - 6 - 0.5, 2 + 1], hv, 1e-14);
    }

    [Fact]
    public void HvpMatchesFiniteDifferencesOfTheGradient()
    {
        Var Loss(Var z) => F.Sum(F.Mish(F.Linear(z, W, B))) + F.Sum(F.Square(F.Sigmoid(z)));
        var x = Random(9, -1, 1, false, 4);
        var v = Random(10, -1, 1, false, 4);
        var (_, hv) = Autograd.Hvp(Loss, x, v);
        // d/dε ∇f(x + εv) at 0, by central differences of the analytic gradient.
        double eps = 1e-6;
        double[] GradAt(double s)
        {
            var shifted = new Var(Ops.Add(x.Value, Ops.Mul(v.Value, s)), requiresGrad: true);
            return Autograd.Grad(Loss(shifted), [shifted])[0].Value.ToDoubleArray();
        }
        var plus = GradAt(eps);
        var minus = GradAt(-eps);
        Close(plus.Zip(minus, (p, m) => (p - m) / (2 * eps)).ToArray(), hv, 1e-7);
    }

    [Fact]
    public void AllowUnusedGivesZerosAndOtherwiseThrows()
    {
        var x = Leaf([1, 2], 2);
        var unused = Leaf([3], 1);
        var y = F.Sum(F.Square(x));
        Assert.Throws<InvalidOperationException>(() => Autograd.Grad(y, [x, unused], retainGraph: true));
        var g = Autograd.Grad(y, [x, unused], allowUnused: true);
        Close([2, 4], g[0], 0);
        Close([0], g[1], 0);
    }

    [Fact]
    public void GradWithRespectToAnIntermediateVar()
    {
        var x = Leaf([0.2, 0.4], 2);
        var h = F.Tanh(x);
        var y = F.Sum(F.Square(h));
        var g = Autograd.Grad(y, [h, x]);
        var hs = h.Value.ToDoubleArray();
        Close(hs.Select(v => 2 * v).ToArray(), g[0], 1e-15);
        Close(hs.Select(v => 2 * v * (1 - v * v)).ToArray(), g[1], 1e-15);
    }
}
