using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;
using static DiffTori.Autodiff.Tests.AutodiffGens;

namespace DiffTori.Autodiff.Tests;

/// <summary>
/// Ops that have both a fused rule and a composite form must agree in value, gradient and
/// Hessian–vector product (the "test both ways"; the fused form is the default for speed,
/// see OverheadTests for the timing).
/// </summary>
public class FusedVersusCompositeTests
{
    public static TheoryData<string> Pairs() => new() { "sigmoid", "silu", "mish", "softmax", "log_softmax", "layer_norm", "cross_entropy", "linear", "linear_elu", "mse" };

    private static (Func<Var, Var> Fused, Func<Var, Var> Composite, Shape Shape) Pair(string name, Shape s, int seed)
    {
        var probe = new Var(Values(s, seed + 99));
        Var W(Var y) => F.Sum(y * new Var(Values(y.Shape, seed + 7)));
        switch (name)
        {
            case "sigmoid": return (x => W(F.Sigmoid(x)), x => W(F.SigmoidComposite(x)), s);
            case "silu": return (x => W(F.Silu(x)), x => W(F.SiluComposite(x)), s);
            case "mish": return (x => W(F.Mish(x)), x => W(F.MishComposite(x)), s);
            case "softmax": return (x => W(F.Softmax(x)), x => W(F.SoftmaxComposite(x)), s);
            case "log_softmax": return (x => W(F.LogSoftmax(x)), x => W(F.LogSoftmaxComposite(x)), s);
            case "layer_norm":
            {
                var w = new Var(Values(new Shape(s[s.Rank - 1]), seed + 3));
                var b = new Var(Values(new Shape(s[s.Rank - 1]), seed + 4));
                return (x => W(F.LayerNorm(x, w, b)), x => W(F.LayerNormComposite(x, w, b)), s);
            }
            case "cross_entropy":
            {
                var m = new Shape(s.Length / s[s.Rank - 1], s[s.Rank - 1]);
                var targets = Indices(new Shape(m[0]), m[1], seed);
                return (x => F.CrossEntropy(x, targets), x => F.CrossEntropyComposite(x, targets), m);
            }
            case "linear":
            {
                var w = new Var(Values(new Shape(3, s[s.Rank - 1]), seed + 5));
                var b = new Var(Values(new Shape(3), seed + 6));
                return (x => W(F.Linear(x, w, b)), x => W(F.LinearComposite(x, w, b)), s);
            }
            case "linear_elu":
            {
                var w = new Var(Values(new Shape(3, s[s.Rank - 1]), seed + 5));
                var b = new Var(Values(new Shape(3), seed + 6));
                return (x => W(F.LinearElu(x, w, b, 0.8)), x => W(F.Elu(F.LinearComposite(x, w, b), 0.8)), s);
            }
            case "mse":
            {
                var target = new Var(Values(s, seed + 8));
                return (x => F.Mse(x, target), x => F.MseComposite(x, target), s);
            }
            default: throw new ArgumentException(name);
        }
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void AgreeInValueGradientAndHvp(string name)
    {
        var gen = from s in Shape(1, 3) from seed in Seed where s[s.Rank - 1] >= 2 select (s, seed);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var (fused, composite, shape) = Pair(name, c.s, c.seed);
            var x = new Var(Values(shape, c.seed), requiresGrad: true);
            var v = new Var(Values(shape, c.seed + 1));
            var (valueF, hvF) = Autograd.Hvp(fused, x, v);
            var (valueC, hvC) = Autograd.Hvp(composite, x, v);
            var gF = Autograd.Grad(fused(x), [x])[0];
            var gC = Autograd.Grad(composite(x), [x])[0];
            TestData.Close([valueC.Item()], [valueF.Item()], 1e-12, $"{name} value {shape}");
            TestData.Close(gC.Value.ToDoubleArray(), gF, 1e-11, $"{name} gradient {shape}");
            TestData.Close(hvC.Value.ToDoubleArray(), hvF, 1e-9, $"{name} hvp {shape}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(20));
    }
}
