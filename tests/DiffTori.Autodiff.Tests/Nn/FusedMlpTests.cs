using DiffTori.Autodiff.Nn;
using DiffTori.Engine;
using static DiffTori.Autodiff.Tests.Nn.NnTestSupport;

namespace DiffTori.Autodiff.Tests.Nn;

/// <summary>
/// Sequential runs Linear + ELU as one fused op (F.LinearElu; at batch 1 the row kernels split between the
/// cores). The same network evaluated layer by layer from composite primitives must give the same loss,
/// parameter gradients (fresh, after a deferred ZeroGrad, accumulated) and gradient of the gradient norm.
/// </summary>
public class FusedMlpTests
{
    // Wide enough (300·257 weights) that the batch-1 kernels split the rows between the cores.
    private static readonly int[] Dims = [13, 257, 300, 7];

    private static Sequential Net(DType dtype) => Mlp.Build(Dims, () => new Elu(0.9), new RandomGenerator(11), dtype: dtype);

    /// <summary>The reference: each layer from Matmul + Add and the primitive ELU, no fused op involved.</summary>
    private static Var Composite(Sequential net, Var x)
    {
        var ps = net.Parameters();
        for (int layer = 0; layer < 3; layer++)
        {
            x = F.LinearComposite(x, ps[2 * layer], ps[2 * layer + 1]);
            if (layer < 2) x = F.Where(F.Constant(Ops.Greater(x.Value, 0)), x, 0.9 * (F.Exp(x) - 1));
        }
        return x;
    }

    private static double[][] Grads(List<Var> ps) => ps.Select(p => p.Grad!.Value.ToDoubleArray()).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Fused_network_matches_composite_loss_and_gradients(int batch)
    {
        var net = Net(DType.Float64);
        var ps = net.Parameters();
        var x = new Var(Random(new Shape(batch, Dims[0]), 3));
        var target = new Var(Random(new Shape(batch, Dims[^1]), 4));

        var lossC = F.MseComposite(Composite(net, x), target);
        lossC.Backward();
        var expected = Grads(ps);
        net.ZeroGrad(setToNone: true);

        var loss = F.Mse(net.Forward(x), target);
        Assert.Equal(lossC.Item(), loss.Item(), 12);
        loss.Backward();
        for (int i = 0; i < ps.Count; i++) AssertClose(expected[i], ps[i].Grad!.Value.ToDoubleArray(), 1e-11, $"fresh grad {ps[i].Name}");

        // Deferred zero: the next pass overwrites; then a second pass without zeroing adds.
        net.ZeroGrad();
        F.Mse(net.Forward(x), target).Backward();
        for (int i = 0; i < ps.Count; i++) AssertClose(expected[i], ps[i].Grad!.Value.ToDoubleArray(), 1e-11, $"after ZeroGrad {ps[i].Name}");
        F.Mse(net.Forward(x), target).Backward();
        for (int i = 0; i < ps.Count; i++)
            AssertClose(expected[i].Select(v => 2 * v).ToArray(), ps[i].Grad!.Value.ToDoubleArray(), 1e-11, $"accumulated {ps[i].Name}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Gradient_of_gradient_norm_matches_composite(int batch)
    {
        var net = Net(DType.Float64);
        var ps = net.Parameters();
        var x = new Var(Random(new Shape(batch, Dims[0]), 5));
        var target = new Var(Random(new Shape(batch, Dims[^1]), 6));

        double[][] Run(Func<Var> loss)
        {
            net.ZeroGrad(setToNone: true);
            var grads = Autograd.Grad(loss(), ps, createGraph: true);
            Var norm2 = F.Sum(F.Square(grads[0]));
            for (int i = 1; i < grads.Length; i++) norm2 += F.Sum(F.Square(grads[i]));
            norm2.Backward();
            return Grads(ps);
        }

        var expected = Run(() => F.MseComposite(Composite(net, x), target));
        var actual = Run(() => F.Mse(net.Forward(x), target));
        for (int i = 0; i < ps.Count; i++) AssertClose(expected[i], actual[i], 1e-10, $"second order {ps[i].Name}");
    }

    [Fact]
    public void Float32_batch_one_matches_float64_reference()
    {
        var net32 = Net(DType.Float32);
        var net64 = Net(DType.Float64);
        var p32 = net32.Parameters();
        var p64 = net64.Parameters();
        var x = Random(new Shape(1, Dims[0]), 8);
        var t = Random(new Shape(1, Dims[^1]), 9);
        F.Mse(net64.Forward(new Var(x)), new Var(t)).Backward();
        F.Mse(net32.Forward(new Var(x.Cast(DType.Float32))), new Var(t.Cast(DType.Float32))).Backward();
        for (int i = 0; i < p32.Count; i++)
        {
            var expected = p64[i].Grad!.Value.ToDoubleArray();
            double scale = expected.Max(Math.Abs);
            var actual = p32[i].Grad!.Value.ToDoubleArray();
            for (int j = 0; j < expected.Length; j++)
                Assert.True(Math.Abs(expected[j] - actual[j]) <= 1e-4 * (scale + 1e-3), $"{p32[i].Name}[{j}]: float32 {actual[j]}, float64 {expected[j]}");
        }
    }
}
