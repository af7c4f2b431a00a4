using DiffTori.Engine;

namespace DiffTori.Autodiff.Nn;

/// <summary>
/// y = x·Wᵀ + b for x [..., in]: weight [out, in], bias [out]. Initialized as torch.nn.Linear:
/// W uniform in ±1/√in (kaiming_uniform with a = √5) and b uniform in ±1/√in.
/// </summary>
public sealed class Linear : Layer
{
    public Linear(int inFeatures, int outFeatures, RandomGenerator rng, bool bias = true, DType dtype = DType.Float32, Device? device = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear: feature counts must be positive, got in {inFeatures}, out {outFeatures}");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var w = Tensor.Empty(new Shape(outFeatures, inFeatures), dtype, device);
        Init.KaimingUniform(w, rng, a: Math.Sqrt(5));
        Weight = AddParameter("weight", w);
        if (bias)
        {
            var b = Tensor.Empty(new Shape(outFeatures), dtype, device);
            double bound = 1 / Math.Sqrt(inFeatures);
            Init.Uniform(b, rng, -bound, bound);
            Bias = AddParameter("bias", b);
        }
    }

    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Var Weight { get; }
    public Var? Bias { get; }

    public override Var Forward(Var input)
    {
        CheckInput(input);
        return F.Linear(input, Weight, Bias);
    }

    /// <summary>elu(Forward(input)) as one fused op (what Sequential runs for a Linear followed by an Elu).</summary>
    public Var ForwardElu(Var input, double alpha = 1.0)
    {
        CheckInput(input);
        return F.LinearElu(input, Weight, Bias, alpha);
    }

    private void CheckInput(Var input)
    {
        if (input.Rank == 0 || input.Shape[input.Rank - 1] != InFeatures)
            throw new TensorShapeException($"Linear({InFeatures} → {OutFeatures}): input of shape {input.Shape} must end in {InFeatures}");
    }
}
