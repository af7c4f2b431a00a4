using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

public class LmRobustnessTests
{
    /// <summary>
    /// Undamped GN on a residual whose Jacobian is rank-deficient (one coordinate never enters): JᵀJ is singular,
    /// the guarded Cholesky raises λ for that example only and the solve still reaches the least-squares optimum.
    /// </summary>
    [Fact]
    public void SingularSystemRaisesDampingInsteadOfThrowing()
    {
        // r(u) = [u0 − 1, 2(u0 − 1)] for example 0 (u1 unused: singular), [u0 − 1, u1 + 2] for example 1.
        ResidualFn r = u =>
        {
            int rows = u.Shape[0];
            var u0 = F.Narrow(u, 1, 0, 1); var u1 = F.Narrow(u, 1, 1, 1);
            var mask = Residuals.Tile(new Var(Tensor.FromDoubles([0, 1], new Shape(2, 1), DType.Float64)), rows);
            return F.Concat([u0 - 1, mask * (u1 + 2) + (1 - mask) * 2.0 * (u0 - 1)], 1);
        };
        var res = LevenbergMarquardt.Solve(r, new Var(Tensor.Zeros(new Shape(2, 2), DType.Float64)),
            new LmOptions { Iterations = 30, Damping = 0, Gradient = GradientMode.None });
        Assert.True(res.FactorizationFailures > 0);
        var u = res.U.Value.ToDoubleArray();
        Assert.Equal(1, u[0], 1e-6);
        Assert.Equal(0, u[1], 1e-12);   // the unused coordinate is not moved
        Assert.Equal(1, u[2], 1e-10);
        Assert.Equal(-2, u[3], 1e-10);
        Assert.All(u, v => Assert.True(double.IsFinite(v)));
        Assert.True(res.Status[1].Regularization == 0, "the healthy example keeps its damping");
    }

    /// <summary>NaN residuals make every factorization fail: after the retries the solver reports it (an exception naming LM), it does not hang.</summary>
    [Fact]
    public void NonFiniteResidualIsReportedClearly()
    {
        ResidualFn r = u => u * double.NaN;
        var ex = Assert.ThrowsAny<Exception>(() => LevenbergMarquardt.Solve(r, new Var(Tensor.Zeros(new Shape(1, 2), DType.Float64)),
            new LmOptions { Iterations = 2, Gradient = GradientMode.None }));
        Assert.Contains("LevenbergMarquardt", ex.Message + ex.GetType().Name + ex.StackTrace);
    }

    /// <summary>With DetachUnconverged, an example that did not converge contributes no gradient.</summary>
    [Fact]
    public void DetachUnconvergedCutsTheGraphPerExample()
    {
        var theta = new Var(Tensor.FromDoubles([1.0, 1.0], new Shape(2, 1), DType.Float64), requiresGrad: true);
        // Example 0 is linear (converges in one GN step); example 1 is badly scaled and gets only 3 heavily damped steps.
        ResidualFn r = u =>
        {
            var t = Residuals.Tile(theta, u.Shape[0]);
            var scale = Residuals.Tile(new Var(Tensor.FromDoubles([1.0, 1e-3], new Shape(2, 1), DType.Float64)), u.Shape[0]);
            return scale * (u - t) + (1 - scale) * F.Tanh(u - 3 * t) * 0.0;
        };
        var res = LevenbergMarquardt.Solve(r, new Var(Tensor.Zeros(new Shape(2, 1), DType.Float64)),
            new LmOptions { Iterations = 3, Damping = 1e-4, Gradient = GradientMode.Unrolled, DetachUnconverged = true, StepTolerance = 1e-6 });
        Assert.True(res.Status[0].Converged);
        Assert.False(res.Status[1].Converged);
        F.Sum(res.U).Backward();
        var g = theta.Grad!.Value.ToDoubleArray();
        Assert.True(Math.Abs(g[0] - 1) < 1e-6, $"converged example's gradient {g[0]}");
        Assert.Equal(0, g[1]);
    }
}
