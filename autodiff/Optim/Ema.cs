using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Optim;

/// <summary>
/// Exponential moving averages of parameters: the slow-moving target networks of TD-MPC and SAC
/// (target ← (1 − τ)·target + τ·source, "soft update"), in place and without allocation on the CPU.
/// </summary>
public static class Ema
{
    /// <summary>Soft-update every parameter of target towards the parameter of source with the same name.</summary>
    public static void SoftUpdate(Module target, Module source, double tau)
    {
        var t = target.NamedParameters();
        var s = source.NamedParameters();
        if (t.Count != s.Count)
            throw new ArgumentException($"Ema.SoftUpdate: target has {t.Count} parameters, source has {s.Count}");
        for (int i = 0; i < t.Count; i++)
        {
            if (t[i].Key != s[i].Key)
                throw new ArgumentException($"Ema.SoftUpdate: parameter {i} is '{t[i].Key}' in the target but '{s[i].Key}' in the source");
            Lerp(t[i].Value.Value, s[i].Value.Value, tau, t[i].Key);
        }
    }

    /// <summary>Soft-update target[i] towards source[i] for parallel lists of parameters.</summary>
    public static void SoftUpdate(IReadOnlyList<Var> target, IReadOnlyList<Var> source, double tau)
    {
        if (target.Count != source.Count)
            throw new ArgumentException($"Ema.SoftUpdate: {target.Count} target parameters, {source.Count} source parameters");
        for (int i = 0; i < target.Count; i++) Lerp(target[i].Value, source[i].Value, tau, target[i].Name ?? i.ToString());
    }

    /// <summary>Copy source's parameters into target (τ = 1): how a target network starts.</summary>
    public static void HardUpdate(Module target, Module source) => SoftUpdate(target, source, 1.0);

    /// <summary>target ← (1 − τ)·target + τ·source, in place.</summary>
    public static void Lerp(Tensor target, Tensor source, double tau, string name = "tensor")
    {
        if (!(tau >= 0 && tau <= 1))
            throw new ArgumentOutOfRangeException(nameof(tau), tau, $"Ema: tau must lie in [0, 1], got {tau}");
        if (target.Shape != source.Shape || target.DType != source.DType || target.Device != source.Device)
            throw new ArgumentException($"Ema: '{name}' is {target.DType.Name()} {target.Shape} on {target.Device} in the target but {source.DType.Name()} {source.Shape} on {source.Device} in the source");
        if (!target.IsContiguous)
            throw new ArgumentException($"Ema: target '{name}' of shape {target.Shape} must be contiguous");
        if (tau == 1)
        {
            target.CopyFrom(source);   // exact copy, not x + (y − x)
            return;
        }
        if (target.Device.IsCpu && source.IsContiguous)
        {
            if (target.DType == DType.Float32)
                TensorPrimitives.Lerp(target.AsSpan<float>(), source.AsSpan<float>(), (float)tau, target.AsSpan<float>());
            else
                TensorPrimitives.Lerp(target.AsSpan<double>(), source.AsSpan<double>(), tau, target.AsSpan<double>());
            return;
        }
        Ops.Unary(UnaryOp.Affine, target, target, 1 - tau, 0);
        Ops.AddInPlace(target, source, tau);
    }
}
