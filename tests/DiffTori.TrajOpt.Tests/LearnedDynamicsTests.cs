using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;
using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// Imitation through the solver: an MLP dynamics model is trained only by the implicit gradient of iLQR's
/// solution, to make the solver reproduce an expert's plans (the expert plans with the true dynamics).
/// </summary>
public class LearnedDynamicsTests
{
    private const int N = 2, M = 1, T = 5, B = 8;

    private static Var Col(Var x, int i) => F.Narrow(x, 1, i, 1);

    private static StageCostFn Stage => (x, u, t) => 0.5 * F.Sum(F.Square(x), 1) + 0.1 * F.Sum(F.Square(u), 1);
    private static TerminalCostFn Terminal => x => 5.0 * F.Sum(F.Square(x), 1);

    [Fact]
    public void MlpDynamicsLearnedThroughImplicitGradientsImitatesExpert()
    {
        // True system: a damped spring, position/velocity, force input.
        DynamicsFn truth = (x, u) =>
        {
            Var p = Col(x, 0), v = Col(x, 1);
            return F.Concat([p + 0.1 * v, v + 0.1 * (u - 0.8 * p - 0.2 * v)], 1);
        };
        var rng = new Random(2);
        var x0v = new double[B * N];
        for (int i = 0; i < x0v.Length; i++) x0v[i] = 2 * rng.NextDouble() - 1;
        var x0 = new Var(Tensor.FromDoubles(x0v, new Shape(B, N), DType.Float64));
        var zeros = Tensor.Zeros(new Shape(B, T, M), DType.Float64);
        var expert = Ilqr.Solve(new TrajProblem(N, M, T, truth, Stage, Terminal), x0.Value, zeros).U;
        var expertVar = new Var(expert);

        var net = Mlp.Build([N + M, 16, N], () => new Tanh(), new RandomGenerator(7), dtype: DType.Float64);
        DynamicsFn learned = (x, u) => x + 0.1 * net.Forward(F.Concat([x, u], 1));
        var problem = new TrajProblem(N, M, T, learned, Stage, Terminal);
        var opt = new Adam(net.Parameters(), learningRate: 1e-2);
        var options = new IlqrOptions { MaxIterations = 30, GradientTolerance = 1e-9 };
        double first = double.NaN, last = double.NaN;
        for (int step = 0; step < 150; step++)
        {
            var sol = Ilqr.Solve(problem, x0.Value, zeros, options);
            var u = IlqrImplicit.Attach(problem, x0, sol);
            var loss = F.Mean(F.Square(u - expertVar));
            last = loss.Item();
            if (step == 0) first = last;
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        Assert.True(last < 0.01 * first, $"imitation loss {first} → {last}");
    }
}
