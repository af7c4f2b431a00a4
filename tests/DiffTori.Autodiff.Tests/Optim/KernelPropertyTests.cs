using DiffTori.Autodiff.Optim;
using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Autodiff.Tests.Optim;

/// <summary>
/// The fused SIMD loops against the op-by-op path and a scalar reference, at lengths that leave every
/// possible remainder after the vector body (1 to 70 elements).
/// </summary>
public sealed class KernelPropertyTests
{
    private static readonly Arbitrary<(int Length, int Seed)> Cases =
        Gen.Choose(1, 70).SelectMany(n => Gen.Choose(0, 100000).Select(s => (n, s))).ToArbitrary();

    private static (Var Fused, Var Ops, double[] Grad) Pair(int n, int seed, DType dtype)
    {
        var r = new Random(seed);
        var p = Enumerable.Range(0, n).Select(_ => r.NextDouble() * 4 - 2).ToArray();
        var g = Enumerable.Range(0, n).Select(_ => r.NextDouble() * 2 - 1).ToArray();
        return (new Var(Tensor.FromDoubles(p, new Shape(n), dtype), requiresGrad: true),
                new Var(Tensor.FromDoubles(p, new Shape(n), dtype), requiresGrad: true), g);
    }

    private static bool Agree(Var a, Var b, double tol) =>
        a.Value.ToDoubleArray().Zip(b.Value.ToDoubleArray()).All(t => Math.Abs(t.First - t.Second) <= tol * (1 + Math.Abs(t.First)));

    [Fact]
    public void Fused_and_op_by_op_updates_agree_at_every_length()
    {
        Prop.ForAll(Cases, c =>
        {
            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            {
                var (a, b, g) = Pair(c.Length, c.Seed, dtype);
                Optimizer[] fused = [new AdamW([a], 0.01, weightDecay: 0.1)];
                Optimizer[] ops = [new AdamW([b], 0.01, weightDecay: 0.1) { UseOpsPath = true }];
                var (a2, b2, _) = Pair(c.Length, c.Seed + 1, dtype);
                fused = [.. fused, new Sgd([a2], 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)];
                ops = [.. ops, new Sgd([b2], 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) { UseOpsPath = true }];
                for (int step = 0; step < 3; step++)
                {
                    foreach (var v in new[] { a, b, a2, b2 })
                        v.Grad = new Var(Tensor.FromDoubles(g.Select(x => x * (step + 1)).ToArray(), v.Shape, dtype));
                    foreach (var o in fused.Concat(ops)) o.Step();
                }
                double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
                if (!Agree(a, b, tol) || !Agree(a2, b2, tol)) return false;
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    [Fact]
    public void Ema_lerp_matches_the_formula_at_every_length()
    {
        Prop.ForAll(Cases, c =>
        {
            var r = new Random(c.Seed);
            var t = Enumerable.Range(0, c.Length).Select(_ => r.NextDouble()).ToArray();
            var s = Enumerable.Range(0, c.Length).Select(_ => r.NextDouble()).ToArray();
            using var target = Tensor.FromDoubles(t, new Shape(c.Length), DType.Float32);
            using var source = Tensor.FromDoubles(s, new Shape(c.Length), DType.Float32);
            Ema.Lerp(target, source, 0.05);
            var got = target.ToDoubleArray();
            for (int i = 0; i < got.Length; i++)
                if (Math.Abs(got[i] - (0.95 * (float)t[i] + 0.05 * (float)s[i])) > 1e-6) return false;
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }
}
