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
/// <see cref="Residual"/> is the differentiable definition (the truth, used for recorded iterations and
/// gradients in the parameters); <see cref="Kernel"/> is the same function with its gradient in a, evaluated
/// without a graph for <see cref="LevenbergMarquardt"/>'s unrecorded iterations (networks of Linear,
/// LayerNorm, ELU, tanh and ReLU layers in float32 on the CPU; null otherwise, and the solver then uses the residual).
/// </summary>
public sealed class MlpShootingResidual
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
    /// it does not support. One kernel is reused by every call (buffers allocated once): it holds x0 until the
    /// next call, and must not be used by two threads at once.
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
        _kernel.SetStart(x0.Value);
        return _kernel;
    }

    /// <summary>Why no kernel can be built (null when one can).</summary>
    public string? KernelUnsupportedReason()
    {
        ShootingKernel.TryCreate(this, out var reason);
        return reason;
    }

    private sealed class ShootingKernel : IScalarResidualKernel
    {
        private readonly MlpShootingResidual _p;
        private readonly MlpKernel _dyn, _rew;
        private readonly MlpKernel[] _vals;          // the value networks, all on [z_H, π(z_H)]
        private readonly MlpKernel? _pi;
        private readonly float[] _za;                // [t] inputs [z_t, a_t], contiguous: the reward runs on all H at once
        private readonly float[][] _z;               // [t] latents z_t (t ≤ H)
        private readonly float[] _rewards, _rewardBars, _zaBarRewards;
        private readonly float[] _valueIn, _valueInBar, _zaBar, _zBar, _piBar, _one;
        private readonly float[] _discount;          // γᵗ for t ≤ H, as the Var residual's double·Var multiplies
        private float[] _x0 = [];

        private ShootingKernel(MlpShootingResidual p, MlpKernel dyn, MlpKernel rew, MlpKernel[] vals, MlpKernel? pi)
        {
            _p = p;
            _dyn = dyn; _rew = rew; _vals = vals; _pi = pi;
            var val = vals[0];
            int n = p.LatentDim, m = p.ActionDim, h = p.Horizon;
            _za = new float[h * (n + m)];
            _z = new float[h + 1][];
            for (int t = 0; t <= h; t++) _z[t] = new float[n];
            _rewards = new float[h];
            _rewardBars = new float[h];
            _zaBarRewards = new float[h * (n + m)];
            _valueIn = new float[val.InDim];
            _valueInBar = new float[val.InDim];
            _zaBar = new float[n + m];
            _zBar = new float[n];
            _piBar = new float[n];
            _one = new float[1];
            _discount = new float[h + 1];
            double d = 1;
            for (int t = 0; t <= h; t++) { _discount[t] = (float)d; d *= p.Discount; }
        }

        public int Dim => _p.Horizon * _p.ActionDim;

        public static ShootingKernel? TryCreate(MlpShootingResidual p, out string? reason)
        {
            int n = p.LatentDim, m = p.ActionDim, h = p.Horizon;
            var dyn = MlpKernel.TryCreate(p._dynamics, h, out reason);
            if (dyn is null) { reason = "dynamics: " + reason; return null; }
            var rew = MlpKernel.TryCreate(p._reward, h, out reason);
            if (rew is null) { reason = "reward: " + reason; return null; }
            var vals = new MlpKernel[p._values.Length];
            for (int i = 0; i < vals.Length; i++)
            {
                var val = MlpKernel.TryCreate(p._values[i], 1, out reason);
                if (val is null) { reason = $"value {i}: " + reason; return null; }
                vals[i] = val;
            }
            MlpKernel? pi = null;
            if (p._policy is { } policy && (pi = MlpKernel.TryCreate(policy, 1, out reason, tanhOutput: p._tanhPolicy)) is null) { reason = "policy: " + reason; return null; }
            if (dyn.InDim != n + m || dyn.OutDim != n) throw Shapes("dynamics", dyn, $"{n + m} → {n}");
            if (rew.InDim != n + m || rew.OutDim != 1) throw Shapes("reward", rew, $"{n + m} → 1");
            if (pi is not null && pi.InDim != n) throw Shapes("policy", pi, $"{n} → any");
            int valueIn = n + (pi?.OutDim ?? 0);
            for (int i = 0; i < vals.Length; i++)
                if (vals[i].InDim != valueIn || vals[i].OutDim != 1) throw Shapes($"value {i}", vals[i], $"{valueIn} → 1");
            reason = null;
            return new ShootingKernel(p, dyn, rew, vals, pi);
        }

        private static TensorShapeException Shapes(string what, MlpKernel k, string expected) =>
            new($"MlpShootingResidual: the {what} network maps {k.InDim} → {k.OutDim}, expected {expected}");

        public void SetStart(Tensor x0)
        {
            if (_x0.Length != x0.Length) _x0 = new float[x0.Length];
            if (x0.IsContiguous) x0.AsSpan<float>().CopyTo(_x0);
            else using (var c = x0.Contiguous()) c.AsSpan<float>().CopyTo(_x0);
        }

        public float Evaluate(int example, ReadOnlySpan<float> u, Span<float> gradient)
        {
            int n = _p.LatentDim, m = _p.ActionDim, h = _p.Horizon;
            if ((uint)example >= (uint)(_x0.Length / n))
                throw new ArgumentOutOfRangeException(nameof(example), $"MlpShootingResidual kernel: example {example} of a batch of {_x0.Length / n}");
            if (u.Length != h * m || (!gradient.IsEmpty && gradient.Length != h * m))
                throw new TensorShapeException($"MlpShootingResidual kernel: u and gradient must have {h * m} elements, got {u.Length} and {gradient.Length}");
            _x0.AsSpan(example * n, n).CopyTo(_z[0]);
            for (int t = 0; t < h; t++)
            {
                var za = _za.AsSpan(t * (n + m), n + m);
                _z[t].CopyTo(za);
                u.Slice(t * m, m).CopyTo(za[n..]);
                _dyn.Forward(t, za, _z[t + 1]);
            }
            // Every [z_t, a_t] is known now: the reward network for all steps in one pass over its weights.
            _rew.Forward(0, h, _za, _rewards);
            float g = 0;
            for (int t = 0; t < h; t++)
            {
                float r = _discount[t] * _rewards[t];
                g = t == 0 ? r : g + r;
            }
            _z[h].CopyTo(_valueIn, 0);
            if (_pi is not null) _pi.Forward(0, _z[h], _valueIn.AsSpan(n));
            // min_i Q_i as F.Minimum folds it: the running minimum a keeps its place where a ≤ b.
            int chosen = 0;
            _vals[0].Forward(0, _valueIn, _one);
            float value = _one[0];
            for (int i = 1; i < _vals.Length; i++)
            {
                _vals[i].Forward(0, _valueIn, _one);
                if (!(value <= _one[0])) { value = _one[0]; chosen = i; }
            }
            g += _discount[h] * value;
            float residual = (float)_p.Offset - g;
            if (gradient.IsEmpty) return residual;

            // Reverse pass: ∂r/∂G = −1; the minimum passes the value's gradient to the network it chose.
            _one[0] = -_discount[h];
            _vals[chosen].InputVjp(0, _one, _valueInBar);
            _valueInBar.AsSpan(0, n).CopyTo(_zBar);
            if (_pi is not null)
            {
                _pi.InputVjp(0, _valueInBar.AsSpan(n), _piBar);
                System.Numerics.Tensors.TensorPrimitives.Add(_zBar, _piBar, _zBar);
            }
            for (int t = 0; t < h; t++) _rewardBars[t] = -_discount[t];
            _rew.InputVjp(0, h, _rewardBars, _zaBarRewards);
            for (int t = h - 1; t >= 0; t--)
            {
                _dyn.InputVjp(t, _zBar, _zaBar);
                System.Numerics.Tensors.TensorPrimitives.Add(_zaBar, _zaBarRewards.AsSpan(t * (n + m), n + m), _zaBar);
                _zaBar.AsSpan(n, m).CopyTo(gradient.Slice(t * m, m));
                _zaBar.AsSpan(0, n).CopyTo(_zBar);
            }
            return residual;
        }
    }
}
