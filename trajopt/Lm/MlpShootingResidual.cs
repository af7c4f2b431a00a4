using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// DiffTORI's planning residual over learned latent models (TD-MPC's TOLD networks):
///   r(a) = offset − (Σ_{t&lt;H} γᵗ R([z_t, a_t]) + γᴴ min_i Q_i([z_H, π(z_H)])),  z_{t+1} = d([z_t, a_t]),
/// with a = [a_0 … a_{H−1}] flattened to [B, H·m] and z_0 = x0. The value is one network or the minimum of
/// several (TD-MPC's twin Q: F.Minimum, folded left to right, the gradient going to the first at ties);
/// π is a network, optionally squashed by tanh (TD-MPC's mean action tanh(π(z))), or absent (Q(z_H) alone).
/// <see cref="Residual"/> is the differentiable definition (the truth, and what the solver records through when
/// there is no kernel or higher-order gradients are wanted); <see cref="Kernel"/> is the same function with its
/// gradient in a, evaluated without a graph for <see cref="LevenbergMarquardt"/>'s iterations, and differentiating
/// itself for the recorded ones (<see cref="ISecondOrderScalarKernel"/>: gradients in a, x0 and every parameter)
/// (networks of Linear, LayerNorm, ELU, tanh and ReLU layers in float32 on the CPU; null otherwise, and the solver
/// then uses the residual).
/// </summary>
public sealed partial class MlpShootingResidual
{
    private readonly Sequential _dynamics, _reward;
    private readonly Sequential[] _values;
    private readonly Sequential? _policy;
    private readonly bool _tanhPolicy;
    private ShootingKernel? _kernel;
    private bool _kernelUnsupported;

    /// <summary>One value network Q; π(z) = policy(z) (no squashing).</summary>
    public MlpShootingResidual(Sequential dynamics, Sequential reward, Sequential value, Sequential? policy,
        int latentDim, int actionDim, int horizon, double discount, double offset)
        : this(dynamics, reward, [value], policy, tanhPolicy: false, latentDim, actionDim, horizon, discount, offset) { }

    /// <summary>The value min_i values[i]([z_H, π(z_H)]), with π(z) = tanh(policy(z)) when <paramref name="tanhPolicy"/>.</summary>
    public MlpShootingResidual(Sequential dynamics, Sequential reward, IReadOnlyList<Sequential> values, Sequential? policy, bool tanhPolicy,
        int latentDim, int actionDim, int horizon, double discount, double offset)
    {
        if (latentDim <= 0 || actionDim <= 0 || horizon <= 0)
            throw new ArgumentException($"MlpShootingResidual: latent {latentDim}, action {actionDim} and horizon {horizon} must be positive");
        if (values.Count == 0) throw new ArgumentException("MlpShootingResidual: at least one value network is needed");
        if (tanhPolicy && policy is null) throw new ArgumentException("MlpShootingResidual: tanhPolicy needs a policy network");
        _dynamics = dynamics;
        _reward = reward;
        _values = [.. values];
        _policy = policy;
        _tanhPolicy = tanhPolicy;
        LatentDim = latentDim;
        ActionDim = actionDim;
        Horizon = horizon;
        Discount = discount;
        Offset = offset;
    }

    public int LatentDim { get; }
    public int ActionDim { get; }
    public int Horizon { get; }
    public double Discount { get; }
    public double Offset { get; }

    /// <summary>The residual for start latents x0 [B, n]: u [rows, H·m] → r [rows, 1] (rows a multiple of B, as the solver replicates).</summary>
    public ResidualFn Residual(Var x0)
    {
        if (x0.Rank != 2 || x0.Shape[1] != LatentDim)
            throw new TensorShapeException($"MlpShootingResidual.Residual: x0 must be [B, {LatentDim}], got {x0.Shape}");
        return u =>
        {
            if (u.Rank != 2 || u.Shape[1] != Horizon * ActionDim)
                throw new TensorShapeException($"MlpShootingResidual: u must be [rows, {Horizon * ActionDim}], got {u.Shape}");
            var zt = Residuals.Tile(x0, u.Shape[0]);
            Var? g = null;
            double disc = 1;
            for (int t = 0; t < Horizon; t++)
            {
                var za = F.Concat([zt, F.Narrow(u, 1, t * ActionDim, ActionDim)], 1);
                var r = disc * _reward.Forward(za);
                g = g is null ? r : g + r;
                zt = _dynamics.Forward(za);
                disc *= Discount;
            }
            g = g! + disc * Value(zt);
            return Offset - g;
        };
    }

    /// <summary>min_i Q_i([z, π(z)]) (or of Q_i(z) without π).</summary>
    private Var Value(Var z)
    {
        var input = z;
        if (_policy is not null)
        {
            var a = _policy.Forward(z);
            input = F.Concat([z, _tanhPolicy ? F.Tanh(a) : a], 1);
        }
        var v = _values[0].Forward(input);
        for (int i = 1; i < _values.Length; i++) v = F.Minimum(v, _values[i].Forward(input));
        return v;
    }

    /// <summary>
    /// The graph-free kernel of <see cref="Residual"/>(x0), or null when a network has a layer, dtype or device
    /// it does not support. One kernel is reused by every call (buffers allocated once): it holds x0, and a packed
    /// copy of the large weight matrices as they are at this call, until the next call (so call it again after the
    /// weights change, as every solve does), and must not be used by two threads at once.
    /// </summary>
    public IScalarResidualKernel? Kernel(Var x0)
    {
        if (x0.Rank != 2 || x0.Shape[1] != LatentDim)
            throw new TensorShapeException($"MlpShootingResidual.Kernel: x0 must be [B, {LatentDim}], got {x0.Shape}");
        if (_kernelUnsupported || x0.Value.DType != DType.Float32 || !x0.Value.Device.IsCpu) return null;
        if (_kernel is null)
        {
            _kernel = ShootingKernel.TryCreate(this, out _);
            if (_kernel is null) { _kernelUnsupported = true; return null; }
        }
        _kernel.SetStart(x0);
        return _kernel;
    }

    /// <summary>Why no kernel can be built (null when one can).</summary>
    public string? KernelUnsupportedReason()
    {
        ShootingKernel.TryCreate(this, out var reason);
        return reason;
    }
}
