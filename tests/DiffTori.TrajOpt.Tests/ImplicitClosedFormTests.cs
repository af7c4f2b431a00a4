using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// IlqrImplicit on the examples, whose closed-form curvature lets it skip the Var dynamics: the same values and x0
/// gradients as the Var path on the same problem (Gauss–Newton and exact Hessian, batches on one and on both cores,
/// controls at their bounds), and the exact-Hessian gradient against finite differences of converged solves.
/// </summary>
public class ImplicitClosedFormTests
{
    private static TrajProblem Make(bool cartPole, int T) => cartPole ? CartPole.Problem(T) : PendulumSwingUp.Problem(T);

    private static Tensor Starts(bool cartPole, int batch, int seed)
    {
        var rng = new Random(seed);
        int n = cartPole ? 4 : 3;
        var x = new double[batch * n];
        for (int b = 0; b < batch; b++)
        {
            if (cartPole) for (int i = 0; i < n; i++) x[b * n + i] = 0.6 * (2 * rng.NextDouble() - 1);
            else
            {
                double th = Math.PI * (2 * rng.NextDouble() - 1);
                x[b * 3] = Math.Cos(th); x[b * 3 + 1] = Math.Sin(th); x[b * 3 + 2] = 2 * rng.NextDouble() - 1;
            }
        }
        return Tensor.FromDoubles(x, new Shape(batch, n), DType.Float64);
    }

    private static (double[] U, double[] Dx0) Run(TrajProblem p, Tensor x0, IlqrResult sol, Var w, bool exactHessian)
    {
        var x0v = new Var(x0, requiresGrad: true);
        var u = IlqrImplicit.Attach(p, x0v, sol, exactHessian: exactHessian);
        F.Sum(u * w).Backward();
        return (u.Value.ToDoubleArray(), x0v.Grad!.Value.ToDoubleArray());
    }

    [Theory]
    [InlineData(false, 3, false)]
    [InlineData(false, 40, false)]
    [InlineData(false, 40, true)]
    [InlineData(true, 3, true)]
    [InlineData(true, 40, false)]
    [InlineData(true, 40, true)]
    public void MatchesTheVarDynamicsPath(bool cartPole, int batch, bool exactHessian)
    {
        const int T = 10;
        var p = Make(cartPole, T);
        var x0 = Starts(cartPole, batch, 7 + batch);
        // Ten fixed iterations as the benchmark (not converged everywhere; the pendulum's swing-ups saturate |u| ≤ 2).
        var sol = Ilqr.Solve(p, x0, Tensor.Zeros(new Shape(batch, T, 1), DType.Float64),
            new IlqrOptions { MaxIterations = 10, GradientTolerance = 0, CostTolerance = 0 });
        var rng = new Random(batch);
        var w = new Var(Tensor.FromDoubles(Enumerable.Range(0, batch * T).Select(_ => 2 * rng.NextDouble() - 1).ToArray(), new Shape(batch, T, 1), DType.Float64));
        var closed = Run(p, x0, sol, w, exactHessian);
        var reference = Run(p.WithoutClosedFormCurvature(), x0, sol, w, exactHessian);
        Assert.Equal(reference.U, closed.U);
        Assert.Contains(reference.Dx0, v => v != 0);
        for (int i = 0; i < reference.Dx0.Length; i++)
            Assert.True(Math.Abs(reference.Dx0[i] - closed.Dx0[i]) <= 1e-9 * (1 + Math.Abs(reference.Dx0[i])),
                $"dx0[{i}]: Var path {reference.Dx0[i]}, closed form {closed.Dx0[i]}");
    }

    [Fact]
    public void MatchesTheVarDynamicsPathOnRandomShapes()
    {
        // Batch (across the one-core/two-core split and partial lane groups), horizon, model and Hessian at random.
        var gen = Gen.Choose(1, 45).SelectMany(b => Gen.Choose(1, 9).SelectMany(t => Gen.Choose(0, 3).Select(k => (b, t, k))));
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var (batch, T, k) = c;
            bool cartPole = (k & 1) != 0, exactHessian = (k & 2) != 0;
            var p = Make(cartPole, T);
            var x0 = Starts(cartPole, batch, batch * 31 + T);
            var sol = Ilqr.Solve(p, x0, Tensor.Zeros(new Shape(batch, T, 1), DType.Float64), new IlqrOptions { MaxIterations = 5 });
            var rng = new Random(k + T);
            var w = new Var(Tensor.FromDoubles(Enumerable.Range(0, batch * T).Select(_ => 2 * rng.NextDouble() - 1).ToArray(), new Shape(batch, T, 1), DType.Float64));
            var closed = Run(p, x0, sol, w, exactHessian);
            var reference = Run(p.WithoutClosedFormCurvature(), x0, sol, w, exactHessian);
            for (int i = 0; i < reference.Dx0.Length; i++)
                if (!(Math.Abs(reference.Dx0[i] - closed.Dx0[i]) <= 1e-9 * (1 + Math.Abs(reference.Dx0[i]))))
                    throw new Xunit.Sdk.XunitException($"B={batch} T={T} cartPole={cartPole} exact={exactHessian}: dx0[{i}] Var path {reference.Dx0[i]}, closed form {closed.Dx0[i]}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(25));
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 11)]
    [InlineData(true, 40)]
    public void LaneLinearizationEqualsPerExampleLinearization(bool cartPole, int batch)
    {
        const int T = 6;
        var p = Make(cartPole, T);
        int n = p.StateDim;
        var x0 = Starts(cartPole, batch, batch);
        var rng = new Random(batch);
        var u0 = Tensor.FromDoubles(Enumerable.Range(0, batch * T).Select(_ => 4 * rng.NextDouble() - 2).ToArray(), new Shape(batch, T, 1), DType.Float64);
        var sol = Ilqr.Solve(p, x0, u0, new IlqrOptions { MaxIterations = 2 });
        var ev = new ProblemEvaluator(p, DType.Float64);
        var lanes = new Linearization(batch, T, n, 1); var scalar = new Linearization(batch, T, n, 1);
        IlqrImplicit.Linearize(ev, batch, sol, lanes);
        ev.Linearize(batch, sol.XFlat, sol.UFlat, scalar);
        // The lane models round as the per-example ones: equal to the last bit.
        Assert.Equal(scalar.A, lanes.A); Assert.Equal(scalar.Bu, lanes.Bu);
        Assert.Equal(scalar.Lx, lanes.Lx); Assert.Equal(scalar.Lxx, lanes.Lxx);
        Assert.Equal(scalar.Lu, lanes.Lu); Assert.Equal(scalar.Luu, lanes.Luu); Assert.Equal(scalar.Lux, lanes.Lux);
    }

    [Fact]
    public void ExactHessianMatchesFiniteDifferencesOnCartPole()
    {
        const int B = 2, T = 8;
        var p = Make(true, T);
        var x0 = Starts(true, B, 3);
        var opts = new IlqrOptions { MaxIterations = 200, GradientTolerance = 1e-10, CostTolerance = 0 };
        var sol = Ilqr.Solve(p, x0, Tensor.Zeros(new Shape(B, T, 1), DType.Float64), opts);
        Assert.True(sol.AllConverged, string.Join(", ", sol.Status));
        var w = new Var(Tensor.FromDoubles(Enumerable.Range(0, B * T).Select(i => Math.Sin(i + 1.0)).ToArray(), new Shape(B, T, 1), DType.Float64));
        var (_, grad) = Run(p, x0, sol, w, exactHessian: true);
        var x = x0.ToDoubleArray();
        for (int i = 0; i < x.Length; i++)
        {
            double Loss(double delta)
            {
                var xs = (double[])x.Clone();
                xs[i] += delta;
                // Warm start from the solution: stay on the same local minimum.
                var s = Ilqr.Solve(p, Tensor.FromDoubles(xs, x0.Shape, DType.Float64), sol.U, opts);
                return F.Sum(new Var(s.U) * w).Item();
            }
            const double h = 1e-5;
            double fd = (Loss(h) - Loss(-h)) / (2 * h);
            Assert.True(Math.Abs(fd - grad[i]) <= 1e-4 * (1 + Math.Abs(fd)), $"dx0[{i}]: implicit {grad[i]}, finite differences {fd}");
        }
    }
}
