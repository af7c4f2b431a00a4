namespace DiffTori.Engine;

/// <summary>
/// Convolution and pooling on [N, C, H, W] tensors (PyTorch semantics: cross-correlation, zero padding).
/// A default (0, 0) stride or dilation means 1 for convolutions; a default pooling stride means the kernel size.
/// </summary>
public static partial class Ops
{
    /// <summary>x [N, C, H, W], weight [O, C/groups, KH, KW], bias [O] or null.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, (int H, int W) stride = default, (int H, int W) padding = default, (int H, int W) dilation = default, int groups = 1)
    {
        const string op = "conv2d";
        Require.Rank(op, x, 4, "x");
        CheckConvTensors(op, x, weight);
        var spec = MakeConvSpec(op, x.Shape, weight.Shape, stride, padding, dilation, groups);
        var y = Tensor.Empty(new Shape(spec.N, spec.O, spec.OH, spec.OW), x.DType, x.Device);
        var dx = x.IsContiguous ? x : x.Contiguous();
        var dw = weight.IsContiguous ? weight : weight.Contiguous();
        try
        {
            x.Device.Backend.Conv2d(dx, dw, y, spec);
        }
        finally
        {
            if (!ReferenceEquals(dx, x)) dx.Dispose();
            if (!ReferenceEquals(dw, weight)) dw.Dispose();
        }
        if (bias is not null) AddChannelBias(op, y, bias, spec.O);
        NumericCheck.After(op, y);
        return y;
    }

    public static Tensor Conv2dInputGrad(Tensor dy, Tensor weight, in Shape inputShape, (int H, int W) stride = default, (int H, int W) padding = default, (int H, int W) dilation = default, int groups = 1)
    {
        const string op = "conv2d_input_grad";
        CheckConvTensors(op, dy, weight);
        if (inputShape.Rank != 4) throw new TensorShapeException($"{op}: input shape must have rank 4, got {inputShape}");
        var spec = MakeConvSpec(op, inputShape, weight.Shape, stride, padding, dilation, groups);
        Require.Shape(op, dy, new Shape(spec.N, spec.O, spec.OH, spec.OW), "dy");
        var dx = Tensor.Empty(inputShape, dy.DType, dy.Device);
        using (var g = Dense(dy, out _))
        using (var w = Dense(weight, out _))
            dy.Device.Backend.Conv2dInputGrad(g, w, dx, spec);
        NumericCheck.After(op, dx);
        return dx;
    }

    public static Tensor Conv2dWeightGrad(Tensor x, Tensor dy, in Shape weightShape, (int H, int W) stride = default, (int H, int W) padding = default, (int H, int W) dilation = default, int groups = 1)
    {
        const string op = "conv2d_weight_grad";
        Require.Rank(op, x, 4, "x");
        CheckConvTensors(op, x, dy);
        if (weightShape.Rank != 4) throw new TensorShapeException($"{op}: weight shape must have rank 4, got {weightShape}");
        var spec = MakeConvSpec(op, x.Shape, weightShape, stride, padding, dilation, groups);
        Require.Shape(op, dy, new Shape(spec.N, spec.O, spec.OH, spec.OW), "dy");
        var dw = Tensor.Empty(weightShape, x.DType, x.Device);
        using (var xs = Dense(x, out _))
        using (var g = Dense(dy, out _))
            x.Device.Backend.Conv2dWeightGrad(xs, g, dw, spec);
        NumericCheck.After(op, dw);
        return dw;
    }

    /// <summary>x [N, C, L], weight [O, C/groups, K], bias [O] or null. (stride default 1, padding 0, dilation 1.)</summary>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
    {
        const string op = "conv1d";
        Require.Rank(op, x, 3, "x");
        Require.Rank(op, weight, 3, "weight");
        using var x4 = x.Unsqueeze(2);
        using var w4 = weight.Unsqueeze(2);
        using var y4 = Conv2d(x4, w4, bias, (1, stride), (0, padding), (1, dilation), groups);
        return y4.Squeeze(2);
    }

    public static Tensor Conv1dInputGrad(Tensor dy, Tensor weight, in Shape inputShape, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
    {
        const string op = "conv1d_input_grad";
        Require.Rank(op, dy, 3, "dy");
        Require.Rank(op, weight, 3, "weight");
        if (inputShape.Rank != 3) throw new TensorShapeException($"{op}: input shape must have rank 3, got {inputShape}");
        using var dy4 = dy.Unsqueeze(2);
        using var w4 = weight.Unsqueeze(2);
        using var dx4 = Conv2dInputGrad(dy4, w4, inputShape.Insert(2, 1), (1, stride), (0, padding), (1, dilation), groups);
        return dx4.Squeeze(2);
    }

    public static Tensor Conv1dWeightGrad(Tensor x, Tensor dy, in Shape weightShape, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
    {
        const string op = "conv1d_weight_grad";
        Require.Rank(op, x, 3, "x");
        Require.Rank(op, dy, 3, "dy");
        if (weightShape.Rank != 3) throw new TensorShapeException($"{op}: weight shape must have rank 3, got {weightShape}");
        using var x4 = x.Unsqueeze(2);
        using var dy4 = dy.Unsqueeze(2);
        using var dw4 = Conv2dWeightGrad(x4, dy4, weightShape.Insert(2, 1), (1, stride), (0, padding), (1, dilation), groups);
        return dw4.Squeeze(2);
    }

    /// <summary>Max pooling of [N, C, H, W]; argmax (int32) is what MaxPool2dBackward needs. stride default = kernel.</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, out Tensor argmax, (int H, int W) stride = default, (int H, int W) padding = default)
    {
        const string op = "max_pool2d";
        Require.Float(op, x);
        Require.Rank(op, x, 4, "x");
        var spec = MakePoolSpec(op, x.Shape, kernel, stride, padding);
        var shape = new Shape(spec.N, spec.C, spec.OH, spec.OW);
        var y = Tensor.Empty(shape, x.DType, x.Device);
        argmax = Tensor.Empty(shape, DType.Int32, x.Device);
        using (var xs = Dense(x, out _))
            x.Device.Backend.MaxPool2d(xs, y, argmax, spec);
        NumericCheck.After(op, y);
        return y;
    }

    public static Tensor MaxPool2dBackward(Tensor dy, Tensor argmax, in Shape inputShape, (int H, int W) kernel, (int H, int W) stride = default, (int H, int W) padding = default)
    {
        const string op = "max_pool2d_backward";
        Require.Float(op, dy);
        Require.Int32(op, argmax);
        if (inputShape.Rank != 4) throw new TensorShapeException($"{op}: input shape must have rank 4, got {inputShape}");
        var spec = MakePoolSpec(op, inputShape, kernel, stride, padding);
        var shape = new Shape(spec.N, spec.C, spec.OH, spec.OW);
        Require.Shape(op, dy, shape, "dy");
        Require.Shape(op, argmax, shape, "argmax");
        var dx = Tensor.Empty(inputShape, dy.DType, dy.Device);
        using (var g = Dense(dy, out _))
        using (var a = Dense(argmax, out _))
            dy.Device.Backend.MaxPool2dBackward(g, a, dx, spec);
        NumericCheck.After(op, dx);
        return dx;
    }

    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W) stride = default, (int H, int W) padding = default)
    {
        const string op = "avg_pool2d";
        Require.Float(op, x);
        Require.Rank(op, x, 4, "x");
        var spec = MakePoolSpec(op, x.Shape, kernel, stride, padding);
        var y = Tensor.Empty(new Shape(spec.N, spec.C, spec.OH, spec.OW), x.DType, x.Device);
        using (var xs = Dense(x, out _))
            x.Device.Backend.AvgPool2d(xs, y, spec);
        NumericCheck.After(op, y);
        return y;
    }

    public static Tensor AvgPool2dBackward(Tensor dy, in Shape inputShape, (int H, int W) kernel, (int H, int W) stride = default, (int H, int W) padding = default)
    {
        const string op = "avg_pool2d_backward";
        Require.Float(op, dy);
        if (inputShape.Rank != 4) throw new TensorShapeException($"{op}: input shape must have rank 4, got {inputShape}");
        var spec = MakePoolSpec(op, inputShape, kernel, stride, padding);
        Require.Shape(op, dy, new Shape(spec.N, spec.C, spec.OH, spec.OW), "dy");
        var dx = Tensor.Empty(inputShape, dy.DType, dy.Device);
        using (var g = Dense(dy, out _))
            dy.Device.Backend.AvgPool2dBackward(g, dx, spec);
        NumericCheck.After(op, dx);
        return dx;
    }

    /// <summary>A contiguous tensor to hand a kernel: x itself (retained as a view, so disposing it is harmless) or a copy.</summary>
    private static Tensor Dense(Tensor x, out bool copied)
    {
        copied = !x.IsContiguous;
        return copied ? x.Contiguous() : x.Reshape(x.Shape);
    }

    private static void CheckConvTensors(string op, Tensor a, Tensor b)
    {
        Require.Float(op, a);
        Require.SameDType(op, a, b);
        Require.SameDevice(op, a, b);
        Require.Rank(op, a, 4, "x");
        Require.Rank(op, b, 4, "weight");
    }

    private static ConvSpec MakeConvSpec(string op, in Shape x, in Shape w, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups)
    {
        if (stride == default) stride = (1, 1);
        if (dilation == default) dilation = (1, 1);
        if (stride.H <= 0 || stride.W <= 0 || dilation.H <= 0 || dilation.W <= 0 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"{op}: stride {stride} and dilation {dilation} must be positive, padding {padding} non-negative");
        if (groups <= 0 || x[1] % groups != 0 || w[0] % groups != 0)
            throw new TensorShapeException($"{op}: groups = {groups} must divide the input channels of x {x} and the output channels of weight {w}");
        if (w[1] != x[1] / groups)
            throw new TensorShapeException($"{op}: weight {w} expects {w[1]} channels per group but x {x} has {x[1]} channels in {groups} group(s)");
        var spec = new ConvSpec(x[0], x[1], x[2], x[3], w[0], w[2], w[3], stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W, groups);
        int spanH = dilation.H * (w[2] - 1) + 1, spanW = dilation.W * (w[3] - 1) + 1;
        if (x[2] + 2 * padding.H < spanH || x[3] + 2 * padding.W < spanW)
            throw new TensorShapeException($"{op}: kernel {w[2]}x{w[3]} (dilation {dilation}) does not fit input {x} with padding {padding}");
        return spec;
    }

    private static PoolSpec MakePoolSpec(string op, in Shape x, (int H, int W) kernel, (int H, int W) stride, (int H, int W) padding)
    {
        if (stride == default) stride = kernel;
        if (kernel.H <= 0 || kernel.W <= 0 || stride.H <= 0 || stride.W <= 0)
            throw new ArgumentException($"{op}: kernel {kernel} and stride {stride} must be positive");
        if (padding.H < 0 || padding.W < 0 || 2 * padding.H > kernel.H || 2 * padding.W > kernel.W)
            throw new ArgumentException($"{op}: padding {padding} must be non-negative and at most half the kernel {kernel}");
        if (x[2] + 2 * padding.H < kernel.H || x[3] + 2 * padding.W < kernel.W)
            throw new TensorShapeException($"{op}: kernel {kernel} does not fit input {x} with padding {padding}");
        return new PoolSpec(x[0], x[1], x[2], x[3], kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W);
    }

    /// <summary>y[n, o, ...] += bias[o], as a rank-1 GEMM per image: y_n [O, P] += bias [O, 1] · ones [1, P].</summary>
    private static void AddChannelBias(string op, Tensor y, Tensor bias, int channels)
    {
        Require.SameDType(op, y, bias);
        Require.SameDevice(op, y, bias);
        if (bias.Rank != 1 || bias.Shape[0] != channels)
            throw new TensorShapeException($"{op}: bias {bias.Shape} must be [{channels}] for output {y.Shape}");
        int pixels = y.Length / Math.Max(1, y.Shape[0] * channels);
        using var b = Dense(bias, out _);
        using var ones = Tensor.Ones(new Shape(pixels), y.DType, y.Device);
        var spec = new GemmSpec(y.Shape[0], channels, pixels, 1, false, false, 1, 1, 0, 0, channels * pixels);
        y.Device.Backend.Gemm(b, ones, y, spec);
    }
}
