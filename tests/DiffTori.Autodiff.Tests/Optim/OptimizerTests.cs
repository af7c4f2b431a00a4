using DiffTori.Autodiff.Optim;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests.Optim;

/// <summary>Optimizer steps against closed forms and a naive double-precision reference of torch.optim's formulas.</summary>
public sealed class OptimizerTests
{
    private static Var Param(DType dtype, params double[] values) =>
        new(Tensor.FromDoubles(values, new Shape(values.Length), dtype), requiresGrad: true, name: "p");

    private static void SetGrad(Var p, params double[] g) => p.Grad = new Var(Tensor.FromDoubles(g, p.Shape, p.DType));

    private static void Close(double[] expected, Var p, double tol)
    {
        var actual = p.Value.ToDoubleArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    public static TheoryData<DType, bool> Paths() => new()
    {
        { DType.Float64, false }, { DType.Float32, false }, { DType.Float64, true }, { DType.Float32, true },
    };

    private static double Tol(DType dtype) => dtype == DType.Float64 ? 1e-12 : 2e-6;

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sgd_with_momentum_matches_the_hand_computed_steps(DType dtype, bool opsPath)
    {
        // p0 = 1, constant g = 0.5, lr 0.1, momentum 0.9:
        // buf 0.5 → p 0.95; buf 0.95 → p 0.855; buf 1.355 → p 0.7195.
        var p = Param(dtype, 1.0);
        var opt = new Sgd([p], learningRate: 0.1, momentum: 0.9) { UseOpsPath = opsPath };
        double[] expected = [0.95, 0.855, 0.7195];
        foreach (double e in expected)
        {
            SetGrad(p, 0.5);
            opt.Step();
            Close([e], p, Tol(dtype));
        }
        Assert.Equal(3, opt.StepCount);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sgd_nesterov_weight_decay_and_dampening_match_the_reference(DType dtype, bool opsPath)
    {
        double[] p0 = [1.0, -2.0, 0.5, 3.0, -0.25, 0.75, 1.5, -1, 2, 0.1, -0.3];
        double[][] grads = Enumerable.Range(0, 4).Select(k => p0.Select((x, i) => Math.Sin(1 + i + 3 * k)).ToArray()).ToArray();
        foreach (var (nesterov, dampening, wd) in new[] { (true, 0.0, 0.01), (false, 0.3, 0.05), (false, 0.0, 0.0) })
        {
            var p = Param(dtype, p0);
            var opt = new Sgd([p], 0.05, momentum: 0.8, dampening: dampening, weightDecay: wd, nesterov: nesterov) { UseOpsPath = opsPath };
            var reference = (double[])p0.Clone();
            var buf = new double[p0.Length];
            for (int t = 0; t < grads.Length; t++)
            {
                for (int i = 0; i < p0.Length; i++)
                {
                    double d = grads[t][i] + wd * reference[i];
                    buf[i] = t == 0 ? d : 0.8 * buf[i] + (1 - dampening) * d;
                    d = nesterov ? d + 0.8 * buf[i] : buf[i];
                    reference[i] -= 0.05 * d;
                }
                SetGrad(p, grads[t]);
                opt.Step();
                Close(reference, p, Tol(dtype) * 4);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adam_bias_correction_makes_constant_gradients_take_lr_sized_steps(DType dtype, bool opsPath)
    {
        // With a constant g, m̂ = g and v̂ = g² exactly, so every step moves p by lr·g/(|g| + ε).
        double[] g = [0.5, -2.0, 1e-3, 4.0];
        var p = Param(dtype, 1, 1, 1, 1);
        var opt = new Adam([p], learningRate: 0.01, eps: 1e-8) { UseOpsPath = opsPath };
        for (int t = 1; t <= 5; t++)
        {
            SetGrad(p, g);
            opt.Step();
            Close(g.Select(x => 1 - t * 0.01 * x / (Math.Abs(x) + 1e-8)).ToArray(), p, dtype == DType.Float64 ? 1e-10 : 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adam_with_l2_decay_matches_the_reference(DType dtype, bool opsPath)
    {
        double[] p0 = [0.3, -1.2, 2.5, 0.0, -0.7, 1.1, 0.9, -2.2, 0.4];
        var p = Param(dtype, p0);
        const double lr = 0.02, b1 = 0.8, b2 = 0.95, eps = 1e-6, wd = 0.1;
        var opt = new Adam([p], lr, b1, b2, eps, wd) { UseOpsPath = opsPath };
        var r = (double[])p0.Clone();
        var m = new double[p0.Length];
        var v = new double[p0.Length];
        for (int t = 1; t <= 4; t++)
        {
            var g = p0.Select((x, i) => Math.Cos(i * 0.7 + t)).ToArray();
            for (int i = 0; i < r.Length; i++)
            {
                double d = g[i] + wd * r[i];
                m[i] = b1 * m[i] + (1 - b1) * d;
                v[i] = b2 * v[i] + (1 - b2) * d * d;
                double mhat = m[i] / (1 - Math.Pow(b1, t)), vhat = v[i] / (1 - Math.Pow(b2, t));
                r[i] -= lr * mhat / (Math.Sqrt(vhat) + eps);
            }
            SetGrad(p, g);
            opt.Step();
            Close(r, p, dtype == DType.Float64 ? 1e-11 : 1e-5);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AdamW_decays_decoupled_from_the_gradient(DType dtype, bool opsPath)
    {
        // A zero gradient leaves the moments at 0, so only the decoupled decay acts: p_t = p0·(1 − lr·wd)^t.
        var p = Param(dtype, 2.0, -3.0);
        var opt = new AdamW([p], learningRate: 0.1, weightDecay: 0.5) { UseOpsPath = opsPath };
        for (int t = 1; t <= 3; t++)
        {
            SetGrad(p, 0, 0);
            opt.Step();
            double f = Math.Pow(1 - 0.05, t);
            Close([2 * f, -3 * f], p, Tol(dtype));
        }
        // With a gradient: the shrink comes first, then the ordinary Adam step (no decay inside the moments).
        var q = Param(dtype, 1.0);
        var optQ = new AdamW([q], learningRate: 0.1, weightDecay: 0.5) { UseOpsPath = opsPath };
        SetGrad(q, 3.0);
        optQ.Step();
        Close([1.0 * 0.95 - 0.1 * 3 / (3 + 1e-8)], q, Tol(dtype));
    }

    [Fact]
    public void Parameters_without_a_gradient_are_skipped_and_keep_their_own_step_count()
    {
        var a = Param(DType.Float64, 1.0);
        var b = Param(DType.Float64, 1.0);
        var opt = new Adam([a, b], learningRate: 0.1);
        SetGrad(a, 1.0);
        opt.Step();
        Assert.Equal(1.0, b.Value.Item());
        Assert.Equal(1, opt.ParameterStep(0));
        Assert.Equal(0, opt.ParameterStep(1));
        SetGrad(b, 1.0);
        opt.Step();
        // b's first step uses t = 1 bias correction: exactly lr·g/(|g| + ε).
        Assert.Equal(1 - 0.1 / (1 + 1e-8), b.Value.Item(), 12);
        Assert.Equal(2, opt.StepCount);
    }

    [Fact]
    public void Schedule_sets_the_learning_rate_of_each_step()
    {
        var p = Param(DType.Float64, 0.0);
        var opt = new Sgd([p], learningRate: 123) { Schedule = new LinearLr(1.0, 0.0, 4) };
        double expected = 0;
        for (int k = 0; k < 6; k++)
        {
            SetGrad(p, 1.0);
            opt.Step();
            double lr = Math.Max(0, 1.0 - k / 4.0);
            expected -= lr;
            Assert.Equal(lr, opt.LearningRate, 15);
            Assert.Equal(expected, p.Value.Item(), 12);
        }
    }

    [Fact]
    public void Fused_adam_step_allocates_nothing_in_steady_state()
    {
        var p = new Var(Tensor.Ones(new Shape(64, 33)), requiresGrad: true);
        var q = new Var(Tensor.Ones(new Shape(33)), requiresGrad: true);
        var opt = new Adam([p, q]);
        p.Grad = new Var(Tensor.Full(p.Shape, 0.1));
        q.Grad = new Var(Tensor.Full(q.Shape, -0.2));
        Assert.Equal(0, SteadyStateAllocation.AllocatedBy(() =>
        {
            opt.Step();
            opt.ClipGradNorm(1.0);
        }));
    }

    [Fact]
    public void Bad_arguments_are_reported_with_the_parameter()
    {
        var p = Param(DType.Float32, 1, 2);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => new Adam([p, p])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], learningRate: -1));
        Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1, momentum: 0, nesterov: true));
        var opt = new Sgd([p], 0.1);
        p.Grad = new Var(Tensor.Zeros(new Shape(3)));
        var e = Assert.Throws<ArgumentException>(() => opt.Step());
        Assert.Contains("'p'", e.Message);
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void ZeroGrad_zeroes_in_place_or_drops_the_gradient()
    {
        var p = Param(DType.Float32, 1, 2);
        SetGrad(p, 3, 4);
        var g = p.Grad!;
        var opt = new Sgd([p], 0.1);
        opt.ZeroGrad();
        Assert.Same(g, p.Grad);
        Assert.Equal([0f, 0f], p.Grad!.Value.ToArray<float>());
        opt.ZeroGrad(setToNone: true);
        Assert.Null(p.Grad);
    }
}
