using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Optim;

/// <summary>Gradient clipping and resetting over a list of parameters.</summary>
public static class GradClip
{
    /// <summary>
    /// As torch.nn.utils.clip_grad_norm_: the global L2 norm of all gradients together; when it exceeds
    /// maxNorm every gradient is scaled in place by maxNorm / (norm + 1e-6). Returns the norm before
    /// clipping. A non-finite norm (a NaN or ∞ gradient) is returned and the gradients are left as they
    /// are, so the caller can see it and skip the step.
    /// </summary>
    public static double ClipGradNorm(IReadOnlyList<Var> parameters, double maxNorm)
    {
        if (!(maxNorm > 0))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"ClipGradNorm: maxNorm must be positive, got {maxNorm}");
        double sumSquares = 0;
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is { } g) sumSquares += SumOfSquares(g.Value);
        double norm = Math.Sqrt(sumSquares);
        if (!double.IsFinite(norm)) return norm;
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient >= 1) return norm;
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is { } g) Scale(g.Value, coefficient);
        return norm;
    }

    /// <summary>The global L2 norm of the gradients that exist.</summary>
    public static double GradNorm(IReadOnlyList<Var> parameters)
    {
        double sumSquares = 0;
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is { } g) sumSquares += SumOfSquares(g.Value);
        return Math.Sqrt(sumSquares);
    }

    /// <summary>
    /// Reset a parameter's gradient before the next backward pass. By default a plain gradient tensor is
    /// zeroed in place, so the backward pass keeps adding into the same buffer and a training step
    /// allocates nothing (torch's zero_grad(set_to_none=False)); a parameter without a gradient then
    /// still takes a step with a zero gradient (momentum carries on). setToNone drops the gradient instead,
    /// so optimizers skip the parameter until it gets a new one. A gradient that is part of a graph
    /// (after createGraph) is always dropped, never overwritten. A gradient that backward allocated is
    /// zeroed lazily: it is only marked, the next backward pass overwrites it instead of adding (no fill, no
    /// extra read), and reading <see cref="Var.Grad"/> before then fills it with zeros. So read
    /// parameter.Grad again after ZeroGrad: a Grad Var or tensor kept from before still shows the old values.
    /// </summary>
    public static void ResetGrad(Var parameter, bool setToNone = false)
    {
        var g = parameter.GradRaw;
        if (g is null) return;
        if (setToNone || g.RequiresGrad || !g.Value.IsContiguous) parameter.Grad = null;
        else if (parameter.GradOwned) parameter.GradZeroPending = true; // the next backward overwrites it
        else g.Value.Device.Backend.Fill(g.Value, 0);
    }

    private static double SumOfSquares(Tensor g)
    {
        if (g.Device.IsCpu && g.IsContiguous)
        {
            return g.DType == DType.Float32
                ? SumOfSquaresInDouble(g.AsSpan<float>())
                : TensorPrimitives.SumOfSquares<double>(g.AsSpan<double>());
        }
        using var squares = Ops.Square(g);
        using var total = Ops.Sum(squares);
        return total.Item();
    }

    /// <summary>float32 gradients summed in chunks whose partial sums are added in double, so a large model's norm does not lose digits.</summary>
    private static double SumOfSquaresInDouble(ReadOnlySpan<float> values)
    {
        const int chunk = 4096;
        double total = 0;
        for (int i = 0; i < values.Length; i += chunk)
            total += TensorPrimitives.SumOfSquares(values.Slice(i, Math.Min(chunk, values.Length - i)));
        return total;
    }

    private static void Scale(Tensor g, double factor)
    {
        if (g.Device.IsCpu && g.IsContiguous)
        {
            if (g.DType == DType.Float32) TensorPrimitives.Multiply(g.AsSpan<float>(), (float)factor, g.AsSpan<float>());
            else TensorPrimitives.Multiply(g.AsSpan<double>(), factor, g.AsSpan<double>());
            return;
        }
        if (!g.IsContiguous)
            throw new ArgumentException($"ClipGradNorm: cannot scale a strided gradient view of shape {g.Shape} in place");
        Ops.Unary(UnaryOp.Affine, g, g, factor, 0);
    }
}
