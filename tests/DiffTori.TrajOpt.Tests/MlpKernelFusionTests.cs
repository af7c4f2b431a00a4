using DiffTori.Autodiff.Nn;
using DiffTori.Engine;
using DiffTori.TrajOpt;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.TrajOpt.Tests;

/// <summary>
/// MlpKernel.ForwardWithInputVjp, which runs the forward pass and the input gradient of a head's last large layer
/// as one pass over its weights, against Forward then InputVjp (themselves checked against the Var graph and finite
/// differences in LmKernelTests): every output and every gradient must have the same bits, over networks with and
/// without a LayerNorm before the fused layer, zero to two activations after it, halves of the fused layer that end
/// in a block of eight rows (520 rows), batches across a block of sixteen inputs, and slots away from the first.
/// </summary>
public class MlpKernelFusionTests
{
    private sealed record Net(int Seed, int In, int Hidden, int Wide, string Tail, int Out, bool Norm, bool Bias, int First, int Count)
    {
        public override string ToString() => $"seed {Seed}: {In} → {Hidden}{(Norm ? " LN" : "")} → {Wide} {Tail} → {Out}, bias {Bias}, slots {First}+{Count}";
    }

    private static Layer Activation(char c) => c switch { 'e' => new Elu(0.7), 't' => new Autodiff.Nn.Tanh(), _ => new Relu() };

    private static Sequential Build(Net c)
    {
        var rng = new RandomGenerator((ulong)c.Seed);
        var layers = new List<Layer> { new Linear(c.In, c.Hidden, rng, bias: c.Bias) };
        if (c.Norm) layers.Add(new LayerNorm(c.Hidden));
        layers.Add(new Elu());
        layers.Add(new Linear(c.Hidden, c.Wide, rng, bias: c.Bias));
        layers.AddRange(c.Tail.Select(Activation));
        layers.Add(new Linear(c.Wide, c.Out, rng, bias: c.Bias));
        var net = new Sequential([.. layers]);
        foreach (var p in net.Parameters()) Ops.FillNormal(p.Value, rng, 0, 1.0 / Math.Sqrt(p.Value.Shape[^1]));
        return net;
    }

    [Fact]
    public void FusedPassHasTheBitsOfForwardThenInputVjp()
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return; // no packed layers, so nothing is fused
        var nets =
            from seed in Gen.Choose(1, 100000)
            from input in Gen.Elements(7, 56)
            from hidden in Gen.Elements(256, 512)
            from wide in Gen.Elements(520, 512)
            from tail in Gen.Elements("", "e", "t", "r", "et")
            from output in Gen.Choose(1, 6)
            from norm in Gen.Elements(true, false)
            from bias in Gen.Elements(true, false)
            from first in Gen.Choose(0, 2)
            from count in Gen.OneOf(Gen.Choose(1, 6), Gen.Constant(17))
            select new Net(seed, input, hidden, wide, tail, output, norm, bias, first, count);
        Prop.ForAll(nets.ToArbitrary(), c =>
        {
            var kernel = MlpKernel.TryCreate(Build(c), c.First + c.Count, out var reason) ?? throw new InvalidOperationException(reason);
            Assert.True(kernel.FusesALayer, $"{c}: the {c.Wide}-wide layer should run fused");
            var rng = new System.Random(c.Seed);
            var x = Enumerable.Range(0, c.Count * c.In).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
            var yBar = Enumerable.Range(0, c.Count * c.Out).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
            float[] y = new float[c.Count * c.Out], xBar = new float[c.Count * c.In];
            kernel.Forward(c.First, c.Count, x, y);
            kernel.InputVjp(c.First, c.Count, yBar, xBar);
            float[] yFused = new float[y.Length], xBarFused = new float[xBar.Length];
            kernel.ForwardWithInputVjp(c.First, c.Count, x, yFused, yBar, xBarFused);
            Assert.True(y.AsSpan().SequenceEqual(yFused), $"{c}: outputs differ");
            Assert.True(xBar.AsSpan().SequenceEqual(xBarFused), $"{c}: input gradients differ");
            Assert.All(xBar, v => Assert.True(float.IsFinite(v)));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
    }

    [Fact]
    public void NetworksWithoutARowLocalTailAreNotFused()
    {
        var rng = new RandomGenerator(3);
        // A LayerNorm after the large layer mixes its outputs, and a tanh after the last Linear depends on all of them.
        var norm = new Sequential(new Linear(8, 512, rng), new Elu(), new Linear(512, 512, rng), new LayerNorm(512), new Linear(512, 1, rng));
        var squashed = new Sequential(new Linear(8, 512, rng), new Elu(), new Linear(512, 512, rng), new Elu(), new Linear(512, 2, rng));
        Assert.False(MlpKernel.TryCreate(norm, 1, out _)!.FusesALayer);
        Assert.False(MlpKernel.TryCreate(squashed, 1, out _, tanhOutput: true)!.FusesALayer);
        Assert.Equal(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, MlpKernel.TryCreate(squashed, 1, out _)!.FusesALayer);
    }
}
