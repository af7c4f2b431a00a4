using DiffTori.Engine;

namespace DiffTori.Autodiff.Nn;

/// <summary>
/// The sinusoidal embedding of a scalar per batch entry (a diffusion step, a time index), as in
/// "Attention is all you need" and diffusion policy: for x [B] and half = dim/2,
/// f_j = exp(−j·ln(10000)/(half − 1)), output [B, dim] = [sin(x·f), cos(x·f)].
/// </summary>
public sealed class SinusoidalPosEmb : Layer
{
    private readonly Var _frequencies;

    public SinusoidalPosEmb(int dim, DType dtype = DType.Float32, Device? device = null)
    {
        if (dim < 4 || dim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(dim), dim, "SinusoidalPosEmb: dim must be even and at least 4");
        Dim = dim;
        int half = dim / 2;
        var f = new double[half];
        double step = Math.Log(10000) / (half - 1);
        for (int j = 0; j < half; j++) f[j] = Math.Exp(-j * step);
        _frequencies = new Var(Tensor.FromDoubles(f, new Shape(1, half), dtype, device));
    }

    public int Dim { get; }

    public override Var Forward(Var input)
    {
        if (input.Rank != 1)
            throw new TensorShapeException($"SinusoidalPosEmb({Dim}): input must be [B], got {input.Shape}");
        var angles = F.Unsqueeze(input, 1) * _frequencies;   // [B, 1]·[1, half] → [B, half]
        return F.Concat([F.Sin(angles), F.Cos(angles)], axis: 1);
    }
}
