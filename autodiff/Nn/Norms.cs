using DiffTori.Engine;

namespace DiffTori.Autodiff.Nn;

/// <summary>
/// Layer norm over the trailing axes given by normalizedShape, with a learnable per-element scale
/// (ones) and shift (zeros) as torch.nn.LayerNorm.
/// </summary>
public sealed class LayerNorm : Layer
{
    public LayerNorm(int normalizedSize, double eps = 1e-5, bool elementwiseAffine = true, DType dtype = DType.Float32, Device? device = null)
        : this([normalizedSize], eps, elementwiseAffine, dtype, device) { }

    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, DType dtype = DType.Float32, Device? device = null)
    {
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"LayerNorm: normalizedShape must be non-empty and positive, got [{string.Join(", ", normalizedShape)}]");
        NormalizedShape = new Shape(normalizedShape);
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = AddParameter("weight", Tensor.Ones(NormalizedShape, dtype, device));
            Bias = AddParameter("bias", Tensor.Zeros(NormalizedShape, dtype, device));
        }
    }

    public Shape NormalizedShape { get; }
    public double Eps { get; }
    public Var? Weight { get; }
    public Var? Bias { get; }

    public override Var Forward(Var input)
    {
        int k = NormalizedShape.Rank;
        bool fits = input.Rank >= k;
        for (int i = 0; fits && i < k; i++) fits = input.Shape[input.Rank - k + i] == NormalizedShape[i];
        if (!fits) throw new TensorShapeException($"LayerNorm{NormalizedShape}: input of shape {input.Shape} does not end in {NormalizedShape}");
        return F.LayerNorm(input, Weight, Bias, Eps, k);
    }
}

/// <summary>Group norm of [N, C, *] with per-channel scale (ones) and shift (zeros), as torch.nn.GroupNorm.</summary>
public sealed class GroupNorm : Layer
{
    public GroupNorm(int groups, int channels, double eps = 1e-5, bool affine = true, DType dtype = DType.Float32, Device? device = null)
    {
        if (groups <= 0 || channels <= 0 || channels % groups != 0)
            throw new ArgumentException($"GroupNorm: channels ({channels}) must be a positive multiple of groups ({groups})");
        Groups = groups;
        Channels = channels;
        Eps = eps;
        if (affine)
        {
            Weight = AddParameter("weight", Tensor.Ones(new Shape(channels), dtype, device));
            Bias = AddParameter("bias", Tensor.Zeros(new Shape(channels), dtype, device));
        }
    }

    public int Groups { get; }
    public int Channels { get; }
    public double Eps { get; }
    public Var? Weight { get; }
    public Var? Bias { get; }

    public override Var Forward(Var input)
    {
        if (input.Rank < 2 || input.Shape[1] != Channels)
            throw new TensorShapeException($"GroupNorm({Groups}, {Channels}): input must be [N, {Channels}, *], got {input.Shape}");
        return F.GroupNorm(input, Groups, Weight, Bias, Eps);
    }
}

/// <summary>Inverted dropout with probability p in training mode, the identity in evaluation mode.</summary>
public sealed class Dropout : Layer
{
    private readonly RandomGenerator _rng;

    public Dropout(double p, RandomGenerator rng)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout: p must lie in [0, 1), got {p}");
        P = p;
        _rng = rng;
    }

    public double P { get; }

    public override Var Forward(Var input) => F.Dropout(input, P, _rng, Training);
}
