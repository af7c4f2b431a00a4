using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;

namespace DiffTori.Rl.Agents;

/// <summary>
/// TD-MPC's Task-Oriented Latent Dynamics model: encoder h(s) → z, latent dynamics d(z, a) → z',
/// reward R(z, a), policy π(z) (tanh) and twin Q(z, a). MLPs with ELU; the Q heads start with
/// Linear → LayerNorm → tanh as in TD-MPC; orthogonal init, reward and Q last layers zero.
/// </summary>
public sealed class Told : Module
{
    public Told(int observationDim, int actionDim, int latentDim, int hiddenDim, int encoderDim, RandomGenerator rng, Device? device = null, DType dtype = DType.Float32)
    {
        ObservationDim = observationDim;
        ActionDim = actionDim;
        LatentDim = latentDim;
        Layer Elu() => new Elu();
        Encoder = AddModule("encoder", Mlp.Build([observationDim, encoderDim, latentDim], Elu, rng, dtype: dtype, device: device));
        Dynamics = AddModule("dynamics", Mlp.Build([latentDim + actionDim, hiddenDim, hiddenDim, latentDim], Elu, rng, dtype: dtype, device: device));
        Reward = AddModule("reward", Mlp.Build([latentDim + actionDim, hiddenDim, hiddenDim, 1], Elu, rng, dtype: dtype, device: device));
        Pi = AddModule("pi", Mlp.Build([latentDim, hiddenDim, hiddenDim, actionDim], Elu, rng, dtype: dtype, device: device));
        Q1 = AddModule("q1", QHead(latentDim + actionDim, hiddenDim, rng, device, dtype));
        Q2 = AddModule("q2", QHead(latentDim + actionDim, hiddenDim, rng, device, dtype));
        ModuleInit.Orthogonal(this, rng);
        ModuleInit.ZeroLastLayer(Reward);
        ModuleInit.ZeroLastLayer(Q1);
        ModuleInit.ZeroLastLayer(Q2);
    }

    public int ObservationDim { get; }
    public int ActionDim { get; }
    public int LatentDim { get; }
    public Sequential Encoder { get; }
    public Sequential Dynamics { get; }
    public Sequential Reward { get; }
    public Sequential Pi { get; }
    public Sequential Q1 { get; }
    public Sequential Q2 { get; }

    /// <summary>A Q network: Linear → LayerNorm → tanh → Linear → ELU → Linear(1).</summary>
    public static Sequential QHead(int inputDim, int hiddenDim, RandomGenerator rng, Device? device = null, DType dtype = DType.Float32) => new(
        new Linear(inputDim, hiddenDim, rng, dtype: dtype, device: device), new LayerNorm(hiddenDim, dtype: dtype, device: device), new Tanh(),
        new Linear(hiddenDim, hiddenDim, rng, dtype: dtype, device: device), new Elu(),
        new Linear(hiddenDim, 1, rng, dtype: dtype, device: device));

    public Var Encode(Var observation) => Encoder.Forward(observation);

    /// <summary>The next latent and the predicted reward [B, 1].</summary>
    public (Var Next, Var Reward) Next(Var z, Var action)
    {
        var x = F.Concat([z, action], -1);
        return (Dynamics.Forward(x), Reward.Forward(x));
    }

    public (Var Q1, Var Q2) Q(Var z, Var action)
    {
        var x = F.Concat([z, action], -1);
        return (Q1.Forward(x), Q2.Forward(x));
    }

    /// <summary>
    /// π(z) = tanh(mlp(z)) plus Gaussian noise std·ε clipped to [−0.3, 0.3] (as TD-MPC), the result
    /// clamped to [−1, 1]; std = 0 gives the mean.
    /// </summary>
    public Var Policy(Var z, double std, RandomGenerator rng)
    {
        var mu = F.Tanh(Pi.Forward(z));
        if (std <= 0) return mu;
        using var noise = Ops.Normal(mu.Shape, rng, 0, std, mu.DType, mu.Device);
        return WithNoise(mu, noise);
    }

    /// <summary>π(z) plus given noise std·ε [B, m] (drawn by the caller, e.g. one stream per environment), clipped and clamped as above.</summary>
    public Var Policy(Var z, Tensor noise) => WithNoise(F.Tanh(Pi.Forward(z)), noise);

    private static Var WithNoise(Var mu, Tensor noise) => F.Clamp(mu + F.Constant(Ops.Clamp(noise, -0.3, 0.3)), -1, 1);
}
