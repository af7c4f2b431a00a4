using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;

namespace DiffTori.TrajOpt.Tests;

public class SwingUpTests
{
    private static Var Col(Var x, int i) => F.Narrow(x, 1, i, 1);

    /// <summary>
    /// The acrobot as in Sutton &amp; Barto / gym (masses 1, lengths 1, centres 0.5, inertias 1, g 9.8),
    /// torque on the elbow, Euler step dt = 0.1. Written here from the equations of motion.
    /// </summary>
    public static Var AcrobotStep(Var x, Var u)
    {
        const double m1 = 1, m2 = 1, l1 = 1, lc1 = 0.5, lc2 = 0.5, i1 = 1, i2 = 1, g = 9.8, dt = 0.1;
        Var th1 = Col(x, 0), th2 = Col(x, 1), w1 = Col(x, 2), w2 = Col(x, 3);
        var c2 = F.Cos(th2); var s2 = F.Sin(th2);
        var d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2) + i1 + i2 + (2 * m2 * l1 * lc2) * c2;
        var d2 = m2 * lc2 * lc2 + i2 + (m2 * l1 * lc2) * c2;
        // cos(θ − π/2) = sin θ
        var phi2 = (m2 * lc2 * g) * F.Sin(th1 + th2);
        var phi1 = (-m2 * l1 * lc2) * F.Square(w2) * s2 - (2 * m2 * l1 * lc2) * w2 * w1 * s2 + ((m1 * lc1 + m2 * l1) * g) * F.Sin(th1) + phi2;
        var acc2 = (u + d2 / d1 * phi1 - (m2 * l1 * lc2) * F.Square(w1) * s2 - phi2) / ((m2 * lc2 * lc2 + i2) - F.Square(d2) / d1);
        var acc1 = -(d2 * acc2 + phi1) / d1;
        return x + dt * F.Concat([w1, w2, acc1, acc2], 1);
    }

    private static Var Goal(Var x) => new(Tensor.FromDoubles([Math.PI, 0, 0, 0], new Shape(1, 4), x.DType));

    public static TrajProblem Acrobot() => new(4, 1, 50,
        AcrobotStep,
        (x, u, t) => 0.05 * F.Sum(F.Square(x - Goal(x)), 1) + 0.005 * F.Sum(F.Square(u), 1),
        x => 500.0 * F.Sum(F.Square(x - Goal(x)), 1));

    [Fact]
    public void AcrobotMatchesTrajaxObjectiveAndSolves()
    {
        var p = Acrobot();
        var x0 = Tensor.Zeros(new Shape(1, 4), DType.Float64);
        var u0 = Tensor.Zeros(new Shape(1, 50, 1), DType.Float64);
        var ev = new ProblemEvaluator(p, DType.Float64);
        var X = new double[51 * 4]; var cost = new double[1];
        ev.Rollout(1, new double[4], new double[50], X, cost);
        Assert.True(Math.Abs(cost[0] - 4959.476212) < 1e-6, $"initial objective {cost[0]:R}");

        var res = Ilqr.Solve(p, x0, u0, new IlqrOptions { MaxIterations = 100 });
        var s = res.Status[0];
        Assert.True(s.Cost < 51, $"iLQR reached {s}");
        Assert.True(s.GradientNorm < 1e-4, $"gradient norm {s.GradientNorm} ({s})");
        Assert.True(s.Converged, s.ToString());
    }

    [Fact]
    public void PendulumAnalyticCostAgreesWithVarCost()
    {
        var p = PendulumSwingUp.Problem(20);
        var noAnalytic = new TrajProblem(3, 1, 20, p.Dynamics, p.StageCost, p.TerminalCost).WithBounds(-2, 2);
        var rng = new Random(3);
        var x = new double[2 * 21 * 3]; var u = new double[2 * 20];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextDouble() * 2 - 1;
        for (int i = 0; i < u.Length; i++) u[i] = rng.NextDouble() * 2 - 1;
        var a = new Linearization(2, 20, 3, 1); var v = new Linearization(2, 20, 3, 1);
        new ProblemEvaluator(p, DType.Float64).Linearize(2, x, u, a);
        new ProblemEvaluator(noAnalytic, DType.Float64).Linearize(2, x, u, v);
        foreach (var (ea, ev) in new[] { (a.Lx, v.Lx), (a.Lxx, v.Lxx), (a.Lu, v.Lu), (a.Luu, v.Luu), (a.Lux, v.Lux), (a.A, v.A), (a.Bu, v.Bu) })
            for (int i = 0; i < ea.Length; i++) Assert.Equal(ev[i], ea[i], 1e-9);
    }

    /// <summary>Receding-horizon iLQR (T = 20, warm-started by shifting) from random states in a batch of 16: all end upright.</summary>
    [Fact]
    public void PendulumSwingsUpInABatch()
    {
        const int B = 16, T = 20, steps = 140;
        var rng = new Random(5);
        var x = new double[B * 3];
        for (int b = 0; b < B; b++)
        {
            double th = Math.PI * (2 * rng.NextDouble() - 1);
            x[b * 3] = Math.Cos(th); x[b * 3 + 1] = Math.Sin(th); x[b * 3 + 2] = 2 * rng.NextDouble() - 1;
        }
        var p = PendulumSwingUp.Problem(T);
        var ev = new ProblemEvaluator(p, DType.Float64);
        var U = Tensor.Zeros(new Shape(B, T, 1), DType.Float64);
        var opts = new IlqrOptions { MaxIterations = 15 };
        var first = new double[B];
        var next = new double[B * 3];
        var minCos = new double[B];
        for (int k = 0; k < steps; k++)
        {
            var res = Ilqr.Solve(p, Tensor.FromDoubles(x, new Shape(B, 3), DType.Float64), U, opts);
            var u = res.U.ToDoubleArray();
            for (int b = 0; b < B; b++) { first[b] = u[b * T]; Assert.InRange(first[b], -2, 2); }
            ev.Step(B, x, first, next);
            next.CopyTo(x, 0);
            U = Ilqr.ShiftForWarmStart(res.U);
            if (k == steps - 20) for (int b = 0; b < B; b++) minCos[b] = 1;
            if (k >= steps - 20) for (int b = 0; b < B; b++) minCos[b] = Math.Min(minCos[b], x[b * 3]);
        }
        Console.WriteLine(string.Join(" ", minCos.Select(v => v.ToString("F3"))));
        for (int b = 0; b < B; b++)
            Assert.True(minCos[b] > 0.98, $"example {b}: cos θ fell to {minCos[b]} during the last second");
    }
}
