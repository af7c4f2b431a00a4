using DiffTori.Autodiff.Nn;
using DiffTori.Engine;
using static DiffTori.Autodiff.Tests.Nn.NnTestSupport;

namespace DiffTori.Autodiff.Tests.Nn;

public sealed class ModuleTests
{
    /// <summary>A composite model with two named submodules, like TD-MPC's world model.</summary>
    private sealed class TwoHeads : Module
    {
        public TwoHeads(RandomGenerator rng)
        {
            Scale = AddParameter("scale", Tensor.Ones(new Shape(1)));
            Encoder = AddModule("encoder", Mlp.Build([3, 8, 4], () => new Elu(), rng, layerNorm: true));
            Head = AddModule("head", new Linear(4, 2, rng));
        }

        public Var Scale { get; }
        public Sequential Encoder { get; }
        public Linear Head { get; }

        public void AddDuplicate() => AddModule("head", new Relu());
    }

    [Fact]
    public void Names_are_hierarchical_and_in_registration_order()
    {
        var model = new TwoHeads(new RandomGenerator(1));
        string[] expected =
        [
            "scale",
            "encoder.0.weight", "encoder.0.bias", "encoder.1.weight", "encoder.1.bias", "encoder.3.weight", "encoder.3.bias",
            "head.weight", "head.bias",
        ];
        Assert.Equal(expected, model.NamedParameters().Select(p => p.Key));
        Assert.Equal(model.NamedParameters().Select(p => p.Value), model.Parameters());
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.Equal(1 + 8 * 3 + 8 + 8 + 8 + 4 * 8 + 4 + 2 * 4 + 2, model.ParameterCount());
        Assert.Equal(["", "encoder", "encoder.0", "encoder.1", "encoder.2", "encoder.3", "head"], model.NamedModules().Select(m => m.Key));
        Assert.Contains("already used", Assert.Throws<ArgumentException>(model.AddDuplicate).Message);
    }

    [Fact]
    public void Same_seed_builds_identical_models()
    {
        var a = new TwoHeads(new RandomGenerator(5)).Parameters().Select(p => p.Value.ToDoubleArray());
        var b = new TwoHeads(new RandomGenerator(5)).Parameters().Select(p => p.Value.ToDoubleArray());
        var c = new TwoHeads(new RandomGenerator(6)).Parameters().Select(p => p.Value.ToDoubleArray());
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Train_and_eval_reach_every_submodule()
    {
        var model = new TwoHeads(new RandomGenerator(1));
        model.Eval();
        Assert.All(model.NamedModules(), m => Assert.False(m.Value.Training));
        model.Train();
        Assert.All(model.NamedModules(), m => Assert.True(m.Value.Training));
    }

    [Fact]
    public void Mlp_is_linear_layernorm_activation_blocks_and_a_final_linear()
    {
        var net = Mlp.Build([5, 7, 6, 3], () => new Elu(), new RandomGenerator(2), layerNorm: true, dtype: DType.Float64);
        Assert.Equal([typeof(Linear), typeof(LayerNorm), typeof(Elu), typeof(Linear), typeof(LayerNorm), typeof(Elu), typeof(Linear)],
            net.Layers.Select(l => l.GetType()));
        var plain = Mlp.Build([5, 7, 3], () => new Mish(), new RandomGenerator(2), outputActivation: () => new Tanh());
        Assert.Equal([typeof(Linear), typeof(Mish), typeof(Linear), typeof(Tanh)], plain.Layers.Select(l => l.GetType()));

        // The forward pass equals the layers applied by hand.
        foreach (var layer in net.Layers.OfType<LayerNorm>()) { Randomize(layer.Weight!, 3); Randomize(layer.Bias!, 4); }
        var x = new Var(Random(new Shape(4, 5), 5));
        var h = x;
        foreach (var layer in net.Layers)
        {
            h = layer switch
            {
                Linear lin => F.Linear(h, lin.Weight, lin.Bias),
                LayerNorm ln => F.LayerNorm(h, ln.Weight, ln.Bias, 1e-5),
                _ => F.Elu(h),
            };
        }
        AssertClose(h.Value.ToDoubleArray(), net.Forward(x).Value.ToDoubleArray(), 1e-14);
    }

    [Fact]
    public void Orthogonal_module_init_and_zeroed_last_layer_follow_tdmpc()
    {
        var net = Mlp.Build([6, 16, 16, 4], () => new Elu(), new RandomGenerator(7), layerNorm: true, dtype: DType.Float64);
        ModuleInit.Orthogonal(net, new RandomGenerator(8));
        foreach (var layer in net.Layers.OfType<Linear>())
        {
            var w = layer.Weight.Value.ToDoubleArray();
            int rows = layer.OutFeatures, cols = layer.InFeatures;
            // Orthonormal rows when rows ≤ cols, else orthonormal columns.
            int n = Math.Min(rows, cols);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double dot = 0;
                    for (int k = 0; k < Math.Max(rows, cols); k++)
                        dot += rows <= cols ? w[i * cols + k] * w[j * cols + k] : w[k * cols + i] * w[k * cols + j];
                    Assert.Equal(i == j ? 1 : 0, dot, 10);
                }
            Assert.All(layer.Bias!.Value.ToDoubleArray(), b => Assert.Equal(0, b));
        }
        // LayerNorm parameters are not touched.
        Assert.All(((LayerNorm)net[1]).Weight!.Value.ToDoubleArray(), v => Assert.Equal(1, v));

        ModuleInit.ZeroLastLayer(net);
        Assert.All(((Linear)net[^1]).Weight.Value.ToDoubleArray(), v => Assert.Equal(0, v));
    }

    [Fact]
    public void ZeroGrad_resets_every_parameter()
    {
        var net = Mlp.Build([3, 4, 1], () => new Relu(), new RandomGenerator(9));
        var x = new Var(Tensor.Ones(new Shape(2, 3)));
        F.Sum(net.Forward(x)).Backward();
        Assert.All(net.Parameters(), p => Assert.NotNull(p.Grad));
        net.ZeroGrad();
        Assert.All(net.Parameters(), p => Assert.All(p.Grad!.Value.ToDoubleArray(), g => Assert.Equal(0, g)));
        net.ZeroGrad(setToNone: true);
        Assert.All(net.Parameters(), p => Assert.Null(p.Grad));
    }
}
