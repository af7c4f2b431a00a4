using DiffTori.Engine;

namespace DiffTori.Autodiff.Nn;

/// <summary>
/// The multilayer perceptrons of TD-MPC: dims = [in, hidden..., out] gives, for each hidden width,
/// Linear → (LayerNorm) → activation, then a final Linear (and an optional output activation).
/// Layers are numbered as in torch.nn.Sequential, so "0.weight" is the first Linear's weight.
/// </summary>
public static class Mlp
{
    public static Sequential Build(IReadOnlyList<int> dims, Func<Layer> activation, RandomGenerator rng, bool layerNorm = false,
        Func<Layer>? outputActivation = null, DType dtype = DType.Float32, Device? device = null)
    {
        if (dims.Count < 2)
            throw new ArgumentException($"Mlp.Build: dims needs at least [in, out], got [{string.Join(", ", dims)}]");
        var net = new Sequential();
        for (int i = 0; i + 1 < dims.Count; i++)
        {
            net.Add(new Linear(dims[i], dims[i + 1], rng, bias: true, dtype, device));
            bool last = i + 2 == dims.Count;
            if (!last)
            {
                if (layerNorm) net.Add(new LayerNorm(dims[i + 1], dtype: dtype, device: device));
                net.Add(activation());
            }
            else if (outputActivation is not null) net.Add(outputActivation());
        }
        return net;
    }
}

/// <summary>Whole-model initializations that walk every submodule.</summary>
public static class ModuleInit
{
    /// <summary>
    /// TD-MPC's orthogonal_init: every Linear gets an orthogonal weight (gain 1), every convolution an
    /// orthogonal weight with the ReLU gain √2, and all their biases zeros.
    /// </summary>
    public static void Orthogonal(Module root, RandomGenerator rng)
    {
        foreach (var (_, module) in root.NamedModules())
        {
            double? gain = module switch
            {
                Linear => 1.0,
                Conv1d or Conv2d or ConvTranspose1d => Init.Gain(Nonlinearity.Relu),
                _ => null,
            };
            if (gain is not { } g) continue;
            foreach (var (name, p) in module.LocalParameters)
            {
                if (name == "weight") Init.Orthogonal(p.Value, rng, g);
                else if (name == "bias") Init.Zeros(p.Value);
            }
        }
    }

    /// <summary>Zero the weight and bias of a layer (TD-MPC zero-initializes the last layers of its reward and Q heads).</summary>
    public static void ZeroLastLayer(Sequential net)
    {
        for (int i = net.Count - 1; i >= 0; i--)
        {
            if (net[i].LocalParameters.Count == 0) continue;
            foreach (var (_, p) in net[i].LocalParameters) Init.Zeros(p.Value);
            return;
        }
        throw new ArgumentException("ModuleInit.ZeroLastLayer: the network has no layer with parameters");
    }
}
