using DiffTori.Engine;

namespace DiffTori.Autodiff.Nn;

/// <summary>Shared PyTorch-style initialization of convolution weights and biases.</summary>
internal static class ConvInit
{
    /// <summary>torch's _ConvNd.reset_parameters: W by kaiming_uniform(a = √5), b uniform in ±1/√fan_in, fan_in from W's shape.</summary>
    public static (Tensor Weight, Tensor? Bias) Make(Shape weightShape, int biasLength, bool bias, RandomGenerator rng, DType dtype, Device? device)
    {
        var w = Tensor.Empty(weightShape, dtype, device);
        Init.KaimingUniform(w, rng, a: Math.Sqrt(5));
        if (!bias) return (w, null);
        var b = Tensor.Empty(new Shape(biasLength), dtype, device);
        int fanIn = Init.Fans(weightShape).FanIn;
        double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
        Init.Uniform(b, rng, -bound, bound);
        return (w, b);
    }

    public static void Check(string layer, int inChannels, int outChannels, int groups, params (string Name, int Value, int Min)[] sizes)
    {
        if (groups <= 0 || inChannels <= 0 || outChannels <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{layer}: in ({inChannels}) and out ({outChannels}) channels must be positive multiples of groups ({groups})");
        foreach (var (name, value, min) in sizes)
            if (value < min) throw new ArgumentOutOfRangeException(name, value, $"{layer}: {name} must be ≥ {min}, got {value}");
    }
}

/// <summary>1-D convolution of [N, Cin, L]: weight [Cout, Cin/groups, K], bias [Cout].</summary>
public sealed class Conv1d : Layer
{
    public Conv1d(int inChannels, int outChannels, int kernelSize, RandomGenerator rng, int stride = 1, int padding = 0, int dilation = 1,
        int groups = 1, bool bias = true, DType dtype = DType.Float32, Device? device = null)
    {
        ConvInit.Check("Conv1d", inChannels, outChannels, groups, ("kernelSize", kernelSize, 1), ("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1));
        (InChannels, OutChannels, KernelSize, Stride, Padding, Dilation, Groups) = (inChannels, outChannels, kernelSize, stride, padding, dilation, groups);
        var (w, b) = ConvInit.Make(new Shape(outChannels, inChannels / groups, kernelSize), outChannels, bias, rng, dtype, device);
        Weight = AddParameter("weight", w);
        if (b is not null) Bias = AddParameter("bias", b);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int Dilation { get; }
    public int Groups { get; }
    public Var Weight { get; }
    public Var? Bias { get; }

    public override Var Forward(Var input)
    {
        if (input.Rank != 3 || input.Shape[1] != InChannels)
            throw new TensorShapeException($"Conv1d({InChannels} → {OutChannels}): input must be [N, {InChannels}, L], got {input.Shape}");
        return F.Conv1d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
    }
}

/// <summary>2-D convolution of [N, Cin, H, W]: weight [Cout, Cin/groups, KH, KW], bias [Cout].</summary>
public sealed class Conv2d : Layer
{
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, RandomGenerator rng, (int H, int W)? stride = null,
        (int H, int W) padding = default, (int H, int W)? dilation = null, int groups = 1, bool bias = true, DType dtype = DType.Float32, Device? device = null)
    {
        Stride = stride ?? (1, 1);
        Padding = padding;
        Dilation = dilation ?? (1, 1);
        ConvInit.Check("Conv2d", inChannels, outChannels, groups, ("kernelSize", Math.Min(kernelSize.H, kernelSize.W), 1),
            ("stride", Math.Min(Stride.H, Stride.W), 1), ("padding", Math.Min(padding.H, padding.W), 0), ("dilation", Math.Min(Dilation.H, Dilation.W), 1));
        (InChannels, OutChannels, KernelSize, Groups) = (inChannels, outChannels, kernelSize, groups);
        var (w, b) = ConvInit.Make(new Shape(outChannels, inChannels / groups, kernelSize.H, kernelSize.W), outChannels, bias, rng, dtype, device);
        Weight = AddParameter("weight", w);
        if (b is not null) Bias = AddParameter("bias", b);
    }

    /// <summary>A square kernel.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, RandomGenerator rng, int stride = 1, int padding = 0, bool bias = true,
        DType dtype = DType.Float32, Device? device = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), rng, (stride, stride), (padding, padding), null, 1, bias, dtype, device) { }

    public int InChannels { get; }
    public int OutChannels { get; }
    public (int H, int W) KernelSize { get; }
    public (int H, int W) Stride { get; }
    public (int H, int W) Padding { get; }
    public (int H, int W) Dilation { get; }
    public int Groups { get; }
    public Var Weight { get; }
    public Var? Bias { get; }

    public override Var Forward(Var input)
    {
        if (input.Rank != 4 || input.Shape[1] != InChannels)
            throw new TensorShapeException($"Conv2d({InChannels} → {OutChannels}): input must be [N, {InChannels}, H, W], got {input.Shape}");
        return F.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
    }
}

/// <summary>
/// Transposed 1-D convolution of [N, Cin, L] (the upsampling layer of diffusion-policy U-Nets):
/// weight [Cin, Cout/groups, K] as PyTorch lays it out, bias [Cout]; output length
/// (L − 1)·stride − 2·padding + dilation·(K − 1) + outputPadding + 1.
/// </summary>
public sealed class ConvTranspose1d : Layer
{
    public ConvTranspose1d(int inChannels, int outChannels, int kernelSize, RandomGenerator rng, int stride = 1, int padding = 0,
        int outputPadding = 0, int groups = 1, bool bias = true, int dilation = 1, DType dtype = DType.Float32, Device? device = null)
    {
        ConvInit.Check("ConvTranspose1d", inChannels, outChannels, groups, ("kernelSize", kernelSize, 1), ("stride", stride, 1),
            ("padding", padding, 0), ("outputPadding", outputPadding, 0), ("dilation", dilation, 1));
        if (outputPadding >= Math.Max(stride, dilation))
            throw new ArgumentOutOfRangeException(nameof(outputPadding), outputPadding, $"ConvTranspose1d: outputPadding must be smaller than stride ({stride}) or dilation ({dilation})");
        (InChannels, OutChannels, KernelSize, Stride, Padding, OutputPadding, Groups, Dilation) = (inChannels, outChannels, kernelSize, stride, padding, outputPadding, groups, dilation);
        var (w, b) = ConvInit.Make(new Shape(inChannels, outChannels / groups, kernelSize), outChannels, bias, rng, dtype, device);
        Weight = AddParameter("weight", w);
        if (b is not null) Bias = AddParameter("bias", b);
    }

    public int InChannels { get; }
    public int OutChannels { get; }
    public int KernelSize { get; }
    public int Stride { get; }
    public int Padding { get; }
    public int OutputPadding { get; }
    public int Groups { get; }
    public int Dilation { get; }
    public Var Weight { get; }
    public Var? Bias { get; }

    public override Var Forward(Var input)
    {
        if (input.Rank != 3 || input.Shape[1] != InChannels)
            throw new TensorShapeException($"ConvTranspose1d({InChannels} → {OutChannels}): input must be [N, {InChannels}, L], got {input.Shape}");
        return F.ConvTranspose1d(input, Weight, Bias, Stride, Padding, OutputPadding, Dilation, Groups);
    }
}
