using DiffTori.Engine;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;

namespace DiffTori.TrajOpt.Tests;

public class CartPoleTests
{
    [Fact]
    public void ClosedFormModelsAgreeWithVarModels()
    {
        var p = CartPole.Problem(6);
        var varOnly = new TrajProblem(4, 1, 6, p.Dynamics, p.StageCost, p.TerminalCost);
        var rng = new Random(8);
        var x = new double[3 * 7 * 4]; var u = new double[3 * 6];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() - 0.5;
        for (int i = 0; i < u.Length; i++) u[i] = 4 * rng.NextDouble() - 2;
        var a = new Linearization(3, 6, 4, 1); var v = new Linearization(3, 6, 4, 1);
        new ProblemEvaluator(p, DType.Float64).Linearize(3, x, u, a);
        new ProblemEvaluator(varOnly, DType.Float64).Linearize(3, x, u, v);
        foreach (var (ea, ev) in new[] { (a.A, v.A), (a.Bu, v.Bu), (a.Lx, v.Lx), (a.Lxx, v.Lxx), (a.Lu, v.Lu), (a.Luu, v.Luu), (a.Lux, v.Lux) })
            for (int i = 0; i < ea.Length; i++) Assert.Equal(ev[i], ea[i], 1e-10);
        // Closed-form rollout against the Var rollout, and the autodiff-Jacobian variant of the problem.
        Assert.Null(CartPole.Problem(6, closedFormDynamics: false).AnalyticDynamics);
        var xa = new double[x.Length]; var xv = new double[x.Length]; var ca = new double[3]; var cv = new double[3];
        var x0 = new double[12];
        for (int b = 0; b < 3; b++) Array.Copy(x, b * 28, x0, b * 4, 4);
        new ProblemEvaluator(p, DType.Float64).Rollout(3, x0, u, xa, ca);
        new ProblemEvaluator(varOnly, DType.Float64).Rollout(3, x0, u, xv, cv);
        for (int i = 0; i < xa.Length; i++) Assert.Equal(xv[i], xa[i], 1e-10);
        for (int b = 0; b < 3; b++) Assert.Equal(cv[b], ca[b], 1e-9);
    }

    /// <summary>From tilted starts iLQR balances the pole: converged, and the final state is near the origin.</summary>
    [Fact]
    public void IlqrBalancesFromTiltedStarts()
    {
        const int B = 8, T = 40;
        var rng = new Random(4);
        var x0 = new double[B * 4];
        for (int i = 0; i < x0.Length; i++) x0[i] = 0.3 * (2 * rng.NextDouble() - 1);
        var res = Ilqr.Solve(CartPole.Problem(T), Tensor.FromDoubles(x0, new Shape(B, 4), DType.Float64), Tensor.Zeros(new Shape(B, T, 1), DType.Float64),
            new IlqrOptions { MaxIterations = 300, GradientTolerance = 1e-5 });
        var X = res.X.ToDoubleArray();
        for (int b = 0; b < B; b++)
        {
            Assert.True(res.Status[b].Converged, res.Status[b].ToString());
            Assert.True(Math.Abs(X[(b * (T + 1) + T) * 4 + 2]) < 0.05, $"example {b}: final pole angle {X[(b * (T + 1) + T) * 4 + 2]}");
        }
    }
}
