using System.Runtime.Intrinsics;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using DiffTori.TrajOpt.Examples;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// The eight-lane models (IAnalyticDynamicsLanes, IAnalyticCostLanes) against the per-example closed forms, lane
/// by lane, and the iLQR solve on the lane path against single-example solves and against the gathered path.
/// </summary>
public class LaneModelTests
{
    private const int L = 8;

    public static TheoryData<string> Models => new() { "pendulum", "cartpole" };

    private static TrajProblem Make(string name, int T) => name == "pendulum" ? PendulumSwingUp.Problem(T) : CartPole.Problem(T);

    private static Vector512<double>[] Lanes(double[] v, int dim)
    {
        var r = new Vector512<double>[dim];
        for (int i = 0; i < dim; i++)
        {
            var lane = new double[L];
            for (int l = 0; l < L; l++) lane[l] = v[l * dim + i];
            r[i] = Vector512.Create(lane);
        }
        return r;
    }

    private static void Close(double expected, double actual, string what)
    {
        if (!(Math.Abs(expected - actual) <= 1e-13 * (1 + Math.Abs(expected))))
            throw new Xunit.Sdk.XunitException($"{what}: lane {actual} vs per-example {expected}");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void LaneModelsMatchPerExampleModels(string name)
    {
        var p = Make(name, 4);
        int n = p.StateDim, m = p.ControlDim;
        var dynL = Assert.IsAssignableFrom<IAnalyticDynamicsLanes>(p.AnalyticDynamics);
        var costL = Assert.IsAssignableFrom<IAnalyticCostLanes>(p.AnalyticCost);
        var gen = Gen.Choose(-3000, 3000).Select(i => i / 1000.0).ArrayOf(L * (n + m));
        Prop.ForAll(gen.ToArbitrary(), (double[] v) =>
        {
            var x = v.AsSpan(0, L * n).ToArray(); var u = v.AsSpan(L * n, L * m).ToArray();
            if (name == "pendulum")
                for (int l = 0; l < L; l++)
                {
                    // A state on the circle: (cos θ, sin θ) from the first coordinate as the angle.
                    double th = x[l * n];
                    x[l * n] = Math.Cos(th); x[l * n + 1] = Math.Sin(th);
                }
            var xv = Lanes(x, n); var uv = Lanes(u, m);
            var next = new Vector512<double>[n]; var a = new Vector512<double>[n * n]; var b = new Vector512<double>[n * m];
            var gx = new Vector512<double>[n]; var gu = new Vector512<double>[m]; var hxx = new Vector512<double>[n * n];
            var huu = new Vector512<double>[m * m]; var hux = new Vector512<double>[m * n];
            dynL.StepLanes(xv, uv, next, a, b);
            var stage = costL.StageLanes(1, xv, uv, gx, gu, hxx, huu, hux);
            var stageOnly = costL.StageLanes(1, xv, uv, default, default, default, default, default);
            var nextOnly = new Vector512<double>[n];
            dynL.StepLanes(xv, uv, nextOnly, default, default);
            var tgx = new Vector512<double>[n]; var thxx = new Vector512<double>[n * n];
            var term = costL.TerminalLanes(xv, tgx, thxx);
            for (int l = 0; l < L; l++)
            {
                var xs = x.AsSpan(l * n, n); var us = u.AsSpan(l * m, m);
                var sNext = new double[n]; var sa = new double[n * n]; var sb = new double[n * m];
                p.AnalyticDynamics!.Step(xs, us, sNext, sa, sb);
                var sgx = new double[n]; var sgu = new double[m]; var shxx = new double[n * n]; var shuu = new double[m * m]; var shux = new double[m * n];
                double sStage = p.AnalyticCost!.Stage(1, xs, us, sgx, sgu, shxx, shuu, shux);
                var stgx = new double[n]; var sthxx = new double[n * n];
                double sTerm = p.AnalyticCost.Terminal(xs, stgx, sthxx);
                for (int i = 0; i < n; i++) { Close(sNext[i], next[i][l], $"next[{i}]"); Close(sNext[i], nextOnly[i][l], $"next only[{i}]"); }
                for (int i = 0; i < n * n; i++) { Close(sa[i], a[i][l], $"A[{i}]"); Close(shxx[i], hxx[i][l], $"hxx[{i}]"); Close(sthxx[i], thxx[i][l], $"terminal hxx[{i}]"); }
                for (int i = 0; i < n * m; i++) { Close(sb[i], b[i][l], $"B[{i}]"); Close(shux[i], hux[i][l], $"hux[{i}]"); }
                for (int i = 0; i < n; i++) { Close(sgx[i], gx[i][l], $"gx[{i}]"); Close(stgx[i], tgx[i][l], $"terminal gx[{i}]"); }
                Close(sgu[0], gu[0][l], "gu"); Close(shuu[0], huu[0][l], "huu");
                Close(sStage, stage[l], "stage"); Close(sStage, stageOnly[l], "stage only"); Close(sTerm, term[l], "terminal");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    /// <summary>Per-example models only (no lane versions): the solver gathers the linearization into the lanes instead.</summary>
    private sealed class ScalarOnlyDynamics(IAnalyticDynamics inner) : IAnalyticDynamics
    {
        public void Step(ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> next, Span<double> a, Span<double> b) => inner.Step(x, u, next, a, b);
    }

    private sealed class ScalarOnlyCost(IAnalyticCost inner) : IAnalyticCost
    {
        public double Stage(int t, ReadOnlySpan<double> x, ReadOnlySpan<double> u, Span<double> gx, Span<double> gu, Span<double> hxx, Span<double> huu, Span<double> hux)
            => inner.Stage(t, x, u, gx, gu, hxx, huu, hux);
        public double Terminal(ReadOnlySpan<double> x, Span<double> gx, Span<double> hxx) => inner.Terminal(x, gx, hxx);
    }

    /// <summary>
    /// A batch of 13 (one full group of eight, one of five) solved on the lane path equals each example solved alone
    /// (scalar path) and the batch solved with per-example models only (gathered lanes), up to rounding.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void LanePathSolveMatchesSingleExampleSolves(string name)
    {
        const int B = 13, T = 12;
        var p = Make(name, T);
        int n = p.StateDim;
        var scalarOnly = new TrajProblem(n, 1, T, p.Dynamics, p.StageCost, p.TerminalCost)
        { AnalyticDynamics = new ScalarOnlyDynamics(p.AnalyticDynamics!), AnalyticCost = new ScalarOnlyCost(p.AnalyticCost!) }
            .WithBounds(p.ControlLower![0], p.ControlUpper![0]);
        var rng = new Random(name.Length);
        var x0 = new double[B * n];
        for (int b = 0; b < B; b++)
        {
            double th = name == "pendulum" ? Math.PI * (2 * rng.NextDouble() - 1) : 0.6 * (2 * rng.NextDouble() - 1);
            if (name == "pendulum") { x0[b * n] = Math.Cos(th); x0[b * n + 1] = Math.Sin(th); x0[b * n + 2] = rng.NextDouble() - 0.5; }
            else { x0[b * n] = rng.NextDouble() - 0.5; x0[b * n + 1] = 0.2 * rng.NextDouble(); x0[b * n + 2] = th; x0[b * n + 3] = 0.1 * rng.NextDouble(); }
        }
        var o = new IlqrOptions { MaxIterations = 8, GradientTolerance = 0, CostTolerance = 0 };
        var u0 = Tensor.Zeros(new Shape(B, T, 1), DType.Float64);
        var lanes = Ilqr.Solve(p, Tensor.FromDoubles(x0, new Shape(B, n), DType.Float64), u0, o);
        var gathered = Ilqr.Solve(scalarOnly, Tensor.FromDoubles(x0, new Shape(B, n), DType.Float64), u0, o);
        for (int i = 0; i < lanes.UFlat.Length; i++) Assert.Equal(gathered.UFlat[i], lanes.UFlat[i], 1e-8);
        for (int b = 0; b < B; b++)
        {
            var one = Ilqr.Solve(p, Tensor.FromDoubles(x0.AsSpan(b * n, n).ToArray(), new Shape(1, n), DType.Float64),
                Tensor.Zeros(new Shape(1, T, 1), DType.Float64), o);
            for (int t = 0; t < T; t++) Assert.Equal(one.UFlat[t], lanes.UFlat[b * T + t], 1e-8);
            Assert.Equal(one.Status[0].Cost, lanes.Status[b].Cost, 1e-10);
            Assert.Equal(one.Status[0].Iterations, lanes.Status[b].Iterations);
        }
    }
}
