using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests.Optim;

public sealed class ClipScheduleEmaTests
{
    private static Var WithGrad(double[] value, double[] grad, DType dtype = DType.Float64)
    {
        var p = new Var(Tensor.FromDoubles(value, new Shape(value.Length), dtype), requiresGrad: true);
        p.Grad = new Var(Tensor.FromDoubles(grad, new Shape(grad.Length), dtype));
        return p;
    }

    [Theory]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float32)]
    public void Clip_returns_the_global_norm_and_scales_every_gradient(DType dtype)
    {
        // Global norm of (3, 4) and (12) is 13.
        var a = WithGrad([0, 0], [3, 4], dtype);
        var b = WithGrad([0], [12], dtype);
        var none = new Var(Tensor.Zeros(new Shape(2), dtype), requiresGrad: true);
        double norm = GradClip.ClipGradNorm([a, none, b], 6.5);
        Assert.Equal(13, norm, 5);
        double c = 6.5 / (13 + 1e-6);
        double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
        Assert.Equal([3 * c, 4 * c], a.Grad!.Value.ToDoubleArray(), (x, y) => Math.Abs(x - y) < tol);
        Assert.Equal(12 * c, b.Grad!.Value.ToDoubleArray()[0], tol);
        Assert.Equal(6.5, GradClip.GradNorm([a, b]), 4);
        Assert.Null(none.Grad);
    }

    [Fact]
    public void Clip_leaves_small_and_non_finite_gradients_alone()
    {
        var a = WithGrad([0, 0], [0.3, 0.4]);
        Assert.Equal(0.5, GradClip.ClipGradNorm([a], 1.0), 12);
        Assert.Equal([0.3, 0.4], a.Grad!.Value.ToDoubleArray());

        var bad = WithGrad([0, 0], [double.NaN, 1]);
        Assert.True(double.IsNaN(GradClip.ClipGradNorm([bad], 1.0)));
        Assert.Equal(1.0, bad.Grad!.Value.ToDoubleArray()[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradNorm([a], 0));
    }

    [Fact]
    public void Schedules_at_chosen_steps()
    {
        Assert.Equal(3e-4, new ConstantLr(3e-4).At(12345));

        var linear = new LinearLr(1.0, 0.2, 8);
        Assert.Equal(1.0, linear.At(0), 15);
        Assert.Equal(0.6, linear.At(4), 15);
        Assert.Equal(0.2, linear.At(8), 15);
        Assert.Equal(0.2, linear.At(100), 15);

        var cosine = new CosineLr(peak: 1.0, warmupSteps: 10, totalSteps: 110, final: 0.1);
        Assert.Equal(0.0, cosine.At(0), 15);
        Assert.Equal(0.5, cosine.At(5), 15);
        Assert.Equal(1.0, cosine.At(10), 15);
        Assert.Equal(0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 0.25)), cosine.At(35), 15);
        Assert.Equal(0.55, cosine.At(60), 12);
        Assert.Equal(0.1, cosine.At(110), 15);
        Assert.Equal(0.1, cosine.At(1000), 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineLr(1, 10, 10));
    }

    [Theory]
    [InlineData(DType.Float64)]
    [InlineData(DType.Float32)]
    public void Soft_update_moves_the_target_by_tau(DType dtype)
    {
        var target = new Var(Tensor.FromDoubles([1, 2, -4], new Shape(3), dtype));
        var source = new Var(Tensor.FromDoubles([3, 6, 4], new Shape(3), dtype));
        Ema.SoftUpdate([target], [source], 0.25);
        Assert.Equal([1.5, 3, -2], target.Value.ToDoubleArray());
        // k updates with a fixed source: target − source shrinks by (1 − τ)^k.
        for (int k = 0; k < 9; k++) Ema.SoftUpdate([target], [source], 0.25);
        double f = Math.Pow(0.75, 10);
        var got = target.Value.ToDoubleArray();
        Assert.Equal(3 + (1 - 3) * f, got[0], dtype == DType.Float64 ? 12 : 5);
        Assert.Equal(4 + (-4 - 4) * f, got[2], dtype == DType.Float64 ? 12 : 5);
    }

    [Fact]
    public void Module_soft_and_hard_updates_match_parameters_by_name()
    {
        var online = Mlp.Build([3, 4, 2], () => new Elu(), new RandomGenerator(1));
        var target = Mlp.Build([3, 4, 2], () => new Elu(), new RandomGenerator(2));
        var before = target.Parameters().Select(p => p.Value.ToDoubleArray()).ToList();
        var src = online.Parameters().Select(p => p.Value.ToDoubleArray()).ToList();
        Ema.SoftUpdate(target, online, 0.01);
        var after = target.Parameters().Select(p => p.Value.ToDoubleArray()).ToList();
        for (int i = 0; i < after.Count; i++)
            for (int j = 0; j < after[i].Length; j++)
                Assert.Equal(0.99 * before[i][j] + 0.01 * src[i][j], after[i][j], 6);

        Ema.HardUpdate(target, online);
        for (int i = 0; i < src.Count; i++) Assert.Equal(src[i], target.Parameters()[i].Value.ToDoubleArray());

        var other = Mlp.Build([3, 5, 2], () => new Elu(), new RandomGenerator(3));
        Assert.Contains("0.weight", Assert.Throws<ArgumentException>(() => Ema.SoftUpdate(other, online, 0.1)).Message);
    }
}

public sealed class EmaModelTests
{
    [Fact]
    public void Decay_follows_the_warmup_formula_and_clamps()
    {
        var ema = new EmaModel(new Linear(2, 2, new RandomGenerator(1)), power: 0.75, invGamma: 1, minDecay: 0, maxDecay: 0.999, updateAfterStep: 2);
        Assert.Equal(0.0, ema.Decay(0));
        Assert.Equal(0.0, ema.Decay(3));                              // k = 0
        Assert.Equal(1 - Math.Pow(2, -0.75), ema.Decay(4), 15);       // k = 1
        Assert.Equal(1 - Math.Pow(11, -0.75), ema.Decay(13), 15);     // k = 10
        Assert.Equal(0.999, ema.Decay(10_000_000));
    }

    [Fact]
    public void Updates_copy_first_then_average_with_the_current_decay()
    {
        var source = new Linear(3, 2, new RandomGenerator(2), dtype: DType.Float64);
        var averaged = new Linear(3, 2, new RandomGenerator(3), dtype: DType.Float64);
        var ema = new EmaModel(averaged);
        ema.Update(source);                                          // decay 0: a copy
        Assert.Equal(source.Weight.Value.ToDoubleArray(), averaged.Weight.Value.ToDoubleArray());

        source.Weight.Value.CopyFrom(Tensor.Full(source.Weight.Shape, 1.0, DType.Float64));
        ema.Update(source);                                          // update 1: k = 0, still a copy
        Assert.All(averaged.Weight.Value.ToDoubleArray(), v => Assert.Equal(1.0, v));

        source.Weight.Value.CopyFrom(Tensor.Full(source.Weight.Shape, 3.0, DType.Float64));
        ema.Update(source);                                          // update 2: k = 1, decay 1 − 2^−0.75
        double d = 1 - Math.Pow(2, -0.75);
        Assert.All(averaged.Weight.Value.ToDoubleArray(), v => Assert.Equal(d * 1 + (1 - d) * 3, v, 12));
        Assert.Equal(3, ema.Updates);
    }
}
