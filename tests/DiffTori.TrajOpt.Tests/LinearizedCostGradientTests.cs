using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The batched cost gradient of the implicit backward against the recorded rollout it replaces: same value of
/// ∇_U J and same first derivatives (a vector–Jacobian product) wrt x0 and parameters in the dynamics and the cost.
/// </summary>
public class LinearizedCostGradientTests
{
    private static Var Param(double[] v) => new(Tensor.FromDoubles(v, new Shape(1, v.Length), DType.Float64), requiresGrad: true);

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void MatchesRecordedRolloutInValueAndFirstDerivatives(int batch)
    {
        // Pendulum-like dynamics with a learned gain θ_f and a time-dependent cost with learned weights θ_c.
        var thetaF = Param([0.9, 1.1]);
        var thetaC = Param([1.0, 0.05, 0.3]);
        DynamicsFn dyn = (x, u) =>
        {
            var y = PendulumSwingUp.Step(x, u);
            var c = F.Narrow(y, 1, 0, 2) * thetaF;
            return F.Concat([c, F.Narrow(y, 1, 2, 1) + 0.01 * F.Sin(F.Narrow(x, 1, 1, 1))], 1);
        };
        StageCostFn stage = (x, u, t) => F.Sum(F.Square(x) * thetaC, 1) * (1 + 0.1 * t) + 0.01 * F.Sum(F.Square(u) * F.Narrow(x, 1, 2, 1), 1);
        TerminalCostFn terminal = x => 3.0 * F.Sum(F.Square(x) * thetaC, 1) + F.Sum(F.Sin(x), 1);
        const int T = 6;
        var problem = new TrajProblem(3, 1, T, dyn, stage, terminal);
        var rng = new Random(11 + batch);
        var x0d = new double[batch * 3];
        for (int i = 0; i < x0d.Length; i++) x0d[i] = 2 * rng.NextDouble() - 1;
        var x0 = new Var(Tensor.FromDoubles(x0d, new Shape(batch, 3), DType.Float64), requiresGrad: true);
        var u0 = new double[batch * T];
        for (int i = 0; i < u0.Length; i++) u0[i] = rng.NextDouble() - 0.5;
        var sol = Ilqr.Solve(problem, x0.Value, Tensor.FromDoubles(u0, new Shape(batch, T, 1), DType.Float64), new IlqrOptions { MaxIterations = 3 });
        var lin = new Linearization(batch, T, 3, 1);
        new ProblemEvaluator(problem, DType.Float64).Linearize(batch, sol.XFlat, sol.UFlat, lin);
        var wd = new double[batch * T];
        for (int i = 0; i < wd.Length; i++) wd[i] = 2 * rng.NextDouble() - 1;
        var w = new Var(Tensor.FromDoubles(wd, new Shape(batch, T, 1), DType.Float64));

        (double[] G, double[][] Grads) Run(Func<Var> g)
        {
            var gv = g();
            var d = Autograd.Grad([F.Sum(gv * w)], [x0, thetaF, thetaC]);
            return (gv.Value.ToDoubleArray(), d.Select(v => v.Value.ToDoubleArray()).ToArray());
        }
        var fast = Run(() => LinearizedCostGradient.Compute(problem, x0, sol, lin));
        var reference = Run(() => LinearizedCostGradient.Recorded(problem, x0, sol.U));
        AssertClose(reference.G, fast.G, "g");
        for (int k = 0; k < 3; k++) AssertClose(reference.Grads[k], fast.Grads[k], $"d(w·g)/d input {k}");
    }

    [Theory]
    [InlineData(false, 1, true)]
    [InlineData(false, 7, true)]
    [InlineData(true, 7, true)]
    [InlineData(false, 7, false)]
    [InlineData(true, 7, false)]
    public void ExamplesBatchedOverTimeMatchRecordedRollout(bool cartPole, int batch, bool closedFormCurvature)
    {
        // Time-invariant stage costs and parameter-free dynamics: the all-steps-at-once paths, with the dynamics'
        // curvature in closed form (no Var model runs) or without it (the Var dynamics differentiated twice).
        var problem = cartPole ? CartPole.Problem(8) : PendulumSwingUp.Problem(8);
        if (!closedFormCurvature) problem = problem.WithoutClosedFormCurvature();
        Assert.True(problem.StageCostIgnoresTime);
        int n = problem.StateDim, T = problem.Horizon;
        var rng = new Random(5 + batch);
        var x0d = new double[batch * n];
        for (int i = 0; i < x0d.Length; i++) x0d[i] = rng.NextDouble() - 0.5;
        var x0 = new Var(Tensor.FromDoubles(x0d, new Shape(batch, n), DType.Float64), requiresGrad: true);
        var sol = Ilqr.Solve(problem, x0.Value, Tensor.Zeros(new Shape(batch, T, 1), DType.Float64), new IlqrOptions { MaxIterations = 4 });
        var lin = new Linearization(batch, T, n, 1);
        new ProblemEvaluator(problem, DType.Float64).Linearize(batch, sol.XFlat, sol.UFlat, lin);
        var wd = new double[batch * T];
        for (int i = 0; i < wd.Length; i++) wd[i] = 2 * rng.NextDouble() - 1;
        var w = new Var(Tensor.FromDoubles(wd, new Shape(batch, T, 1), DType.Float64));
        var fast = LinearizedCostGradient.Compute(problem, x0, sol, lin);
        var reference = LinearizedCostGradient.Recorded(problem, x0, sol.U);
        AssertClose(reference.Value.ToDoubleArray(), fast.Value.ToDoubleArray(), "g");
        AssertClose(Autograd.Grad([F.Sum(reference * w)], [x0])[0].Value.ToDoubleArray(),
            Autograd.Grad([F.Sum(fast * w)], [x0])[0].Value.ToDoubleArray(), "d(w·g)/dx0");
    }

    [Theory]
    [InlineData(false, 3)]
    [InlineData(true, 40)]
    public void ClosedFormBackwardCanBeDifferentiatedAgain(bool cartPole, int batch)
    {
        // d/dw of v·∂(w·g)/∂x0 through a createGraph backward: the closed-form op's composed transpose against the
        // recorded Var path (the fused, plain-backward kernel is checked against the same path above).
        var closedFormProblem = cartPole ? CartPole.Problem(6) : PendulumSwingUp.Problem(6);
        int n = closedFormProblem.StateDim, T = closedFormProblem.Horizon;
        var rng = new Random(batch);
        var x0d = new double[batch * n];
        for (int i = 0; i < x0d.Length; i++) x0d[i] = rng.NextDouble() - 0.5;
        var x0 = new Var(Tensor.FromDoubles(x0d, new Shape(batch, n), DType.Float64), requiresGrad: true);
        var sol = Ilqr.Solve(closedFormProblem, x0.Value, Tensor.Zeros(new Shape(batch, T, 1), DType.Float64), new IlqrOptions { MaxIterations = 4 });
        var v = new Var(Tensor.FromDoubles(Enumerable.Range(0, batch * n).Select(_ => 2 * rng.NextDouble() - 1).ToArray(), new Shape(batch, n), DType.Float64));
        var wd = Enumerable.Range(0, batch * T).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
        (double[] Dx0, double[] Dw) Run(TrajProblem p)
        {
            var lin = new Linearization(batch, T, n, 1);
            new ProblemEvaluator(p, DType.Float64).Linearize(batch, sol.XFlat, sol.UFlat, lin);
            var w = new Var(Tensor.FromDoubles(wd, new Shape(batch, T, 1), DType.Float64), requiresGrad: true);
            var g = LinearizedCostGradient.Compute(p, x0, sol, lin);
            var dx0 = Autograd.Grad([F.Sum(g * w)], [x0], createGraph: true)[0];
            var dw = Autograd.Grad([F.Sum(dx0 * v)], [w])[0];
            return (dx0.Value.ToDoubleArray(), dw.Value.ToDoubleArray());
        }
        var closed = Run(closedFormProblem);
        var reference = Run(closedFormProblem.WithoutClosedFormCurvature());
        AssertClose(reference.Dx0, closed.Dx0, "d(w·g)/dx0");
        AssertClose(reference.Dw, closed.Dw, "d(v·d(w·g)/dx0)/dw");
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-9 * (1 + Math.Abs(expected[i])), $"{what}[{i}]: recorded {expected[i]}, batched {actual[i]}");
    }
}
