using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    /// <summary>Stride, padding, dilation and groups of a 2-D convolution (1-D is H = 1).</summary>
    internal sealed record ConvArgs((int H, int W) Stride, (int H, int W) Padding, (int H, int W) Dilation, int Groups)
    {
        public static ConvArgs Of((int H, int W) stride, (int H, int W) padding, (int H, int W) dilation, int groups) =>
            new(stride == default ? (1, 1) : stride, padding, dilation == default ? (1, 1) : dilation, groups);
    }

    /// <summary>
    /// 2-D convolution (cross-correlation) of x [N, C, H, W] with weight [O, C/groups, KH, KW], plus bias [O].
    /// Rules: ∂x = the transposed convolution of g, ∂w = the correlation of x with g, ∂b = Σ g over N, H, W.
    /// Both are primitives below with their own rules, so the convolution is twice differentiable.
    /// </summary>
    public static Var Conv2d(Var x, Var weight, Var? bias = null, (int H, int W) stride = default, (int H, int W) padding = default,
        (int H, int W) dilation = default, int groups = 1)
    {
        var args = ConvArgs.Of(stride, padding, dilation, groups);
        var value = Ops.Conv2d(x.Value, weight.Value, bias?.Value, args.Stride, args.Padding, args.Dilation, args.Groups);
        BackwardRule rule = static (n, g) =>
        {
            var a = (ConvArgs)n.Extra!;
            Var? gx = n.Needs(0) ? Conv2dInputGrad(g, n.B, n.A.Shape, a) : null;
            Var? gw = n.Needs(1) ? Conv2dWeightGrad(n.A, g, n.B.Shape, a) : null;
            Var? gb = n.Arity == 3 && n.Needs(2) ? Sum(g, [0, 2, 3]) : null;
            return (gx, gw, gb);
        };
        var y = bias is null ? Record.Op("conv2d", value, x, weight, rule) : Record.Op("conv2d", value, x, weight, bias, rule);
        y.Node?.Extra = args;
        return y;
    }

    /// <summary>∂conv/∂x applied to dy (a transposed convolution). Linear in dy and in w; its rules are a convolution and a weight gradient.</summary>
    private static Var Conv2dInputGrad(Var dy, Var weight, in Shape inputShape, ConvArgs a)
    {
        var y = Record.Op("conv2d_input_grad",
            Ops.Conv2dInputGrad(dy.Value, weight.Value, inputShape, a.Stride, a.Padding, a.Dilation, a.Groups), dy, weight, static (n, g) =>
            {
                var a = (ConvArgs)n.Extra!;
                Var? gdy = n.Needs(0) ? Conv2dCore(g, n.B, a) : null;
                Var? gw = n.Needs(1) ? Conv2dWeightGrad(g, n.A, n.B.Shape, a) : null;
                return (gdy, gw);
            });
        y.Node?.Extra = a;
        return y;
    }

    /// <summary>∂conv/∂w applied to dy. Linear in x and in dy.</summary>
    private static Var Conv2dWeightGrad(Var x, Var dy, in Shape weightShape, ConvArgs a)
    {
        var y = Record.Op("conv2d_weight_grad",
            Ops.Conv2dWeightGrad(x.Value, dy.Value, weightShape, a.Stride, a.Padding, a.Dilation, a.Groups), x, dy, static (n, g) =>
            {
                var a = (ConvArgs)n.Extra!;
                Var? gx = n.Needs(0) ? Conv2dInputGrad(n.B, g, n.A.Shape, a) : null;
                Var? gdy = n.Needs(1) ? Conv2dCore(n.A, g, a) : null;
                return (gx, gdy);
            });
        y.Node?.Extra = a;
        return y;
    }

    private static Var Conv2dCore(Var x, Var w, ConvArgs a) => Conv2d(x, w, null, a.Stride, a.Padding, a.Dilation, a.Groups);

    /// <summary>1-D convolution of x [N, C, L] with weight [O, C/groups, K]: a 2-D convolution with H = 1.</summary>
    public static Var Conv1d(Var x, Var weight, Var? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
    {
        if (x.Rank != 3 || weight.Rank != 3)
            throw new TensorShapeException($"F.Conv1d: x must be [N, C, L] and weight [O, C/groups, K], got {x.Shape} and {weight.Shape}");
        var y = Conv2d(Unsqueeze(x, 2), Unsqueeze(weight, 2), bias, (1, stride), (0, padding), (1, dilation), groups);
        return Squeeze(y, 2);
    }

    /// <summary>
    /// Transposed 1-D convolution of x [N, Cin, L] with weight [Cin, Cout/groups, K] (PyTorch's layout):
    /// output length (L−1)·stride − 2·padding + dilation·(K−1) + outputPadding + 1. It is the input
    /// gradient of the matching convolution, so it reuses that primitive and its rules.
    /// </summary>
    public static Var ConvTranspose1d(Var x, Var weight, Var? bias = null, int stride = 1, int padding = 0, int outputPadding = 0,
        int dilation = 1, int groups = 1)
    {
        if (x.Rank != 3 || weight.Rank != 3 || weight.Shape[0] != x.Shape[1])
            throw new TensorShapeException($"F.ConvTranspose1d: x must be [N, Cin, L] and weight [Cin, Cout/groups, K], got {x.Shape} and {weight.Shape}");
        int n = x.Shape[0], l = x.Shape[2], k = weight.Shape[2], cout = weight.Shape[1] * groups;
        int lout = (l - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1;
        var args = ConvArgs.Of((1, stride), (0, padding), (1, dilation), groups);
        var y = Squeeze(Conv2dInputGrad(Unsqueeze(x, 2), Unsqueeze(weight, 2), new Shape(n, cout, 1, lout), args), 2);
        return bias is null ? y : y + Reshape(bias, cout, 1);
    }

    /// <summary>Transposed 2-D convolution of x [N, Cin, H, W] with weight [Cin, Cout/groups, KH, KW].</summary>
    public static Var ConvTranspose2d(Var x, Var weight, Var? bias = null, (int H, int W) stride = default, (int H, int W) padding = default,
        (int H, int W) outputPadding = default, (int H, int W) dilation = default, int groups = 1)
    {
        if (x.Rank != 4 || weight.Rank != 4 || weight.Shape[0] != x.Shape[1])
            throw new TensorShapeException($"F.ConvTranspose2d: x must be [N, Cin, H, W] and weight [Cin, Cout/groups, KH, KW], got {x.Shape} and {weight.Shape}");
        var a = ConvArgs.Of(stride, padding, dilation, groups);
        int cout = weight.Shape[1] * groups;
        int h = (x.Shape[2] - 1) * a.Stride.H - 2 * a.Padding.H + a.Dilation.H * (weight.Shape[2] - 1) + outputPadding.H + 1;
        int w = (x.Shape[3] - 1) * a.Stride.W - 2 * a.Padding.W + a.Dilation.W * (weight.Shape[3] - 1) + outputPadding.W + 1;
        var y = Conv2dInputGrad(x, weight, new Shape(x.Shape[0], cout, h, w), a);
        return bias is null ? y : y + Reshape(bias, cout, 1, 1);
    }

    // ---------------- pooling ----------------

    /// <summary>Max pooling of [N, C, H, W] (stride defaults to the kernel); the gradient goes to each window's maximum.</summary>
    public static Var MaxPool2d(Var x, (int H, int W) kernel, (int H, int W) stride = default, (int H, int W) padding = default)
    {
        if (stride == default) stride = kernel;
        var value = Ops.MaxPool2d(x.Value, kernel, out var argmax, stride, padding);
        var y = Record.Op("max_pool2d", value, x,
            static (n, g) => MaxPool2dBackward(g, n.Saved0!, n.A.Shape, (PoolArgs)n.Extra!));
        if (y.Node is { } node)
        {
            node.Saved0 = argmax;
            node.Extra = new PoolArgs(kernel, stride, padding);
        }
        else argmax.Dispose();
        return y;
    }

    internal sealed record PoolArgs((int H, int W) Kernel, (int H, int W) Stride, (int H, int W) Padding);

    /// <summary>dy routed to each window's argmax; linear in dy, whose rule gathers at the same argmax.</summary>
    private static Var MaxPool2dBackward(Var dy, Tensor argmax, in Shape inputShape, PoolArgs p)
    {
        var y = Record.Op("max_pool2d_backward", Ops.MaxPool2dBackward(dy.Value, argmax, inputShape, p.Kernel, p.Stride, p.Padding), dy,
            static (n, g) =>
            {
                var dy = n.A;
                int planes = dy.Shape[0] * dy.Shape[1];
                using var index = n.Saved0!.Reshape(planes, dy.Shape[2] * dy.Shape[3]);
                var flat = Reshape(g, planes, g.Shape[2] * g.Shape[3]);
                return Reshape(Gather(flat, 1, index.Contiguous()), dy.Shape);
            });
        if (y.Node is { } node) node.Saved0 = argmax.Contiguous(); // a view: keeps the indices alive as long as this node
        return y;
    }

    /// <summary>Average pooling of [N, C, H, W] (padded cells count in the divisor, as PyTorch's default).</summary>
    public static Var AvgPool2d(Var x, (int H, int W) kernel, (int H, int W) stride = default, (int H, int W) padding = default)
    {
        if (stride == default) stride = kernel;
        var y = Record.Op("avg_pool2d", Ops.AvgPool2d(x.Value, kernel, stride, padding), x,
            static (n, g) => AvgPool2dBackward(g, n.A.Shape, (PoolArgs)n.Extra!));
        y.Node?.Extra = new PoolArgs(kernel, stride, padding);
        return y;
    }

    /// <summary>dy spread evenly over each window; linear in dy, whose rule is average pooling again.</summary>
    private static Var AvgPool2dBackward(Var dy, in Shape inputShape, PoolArgs p)
    {
        var y = Record.Op("avg_pool2d_backward", Ops.AvgPool2dBackward(dy.Value, inputShape, p.Kernel, p.Stride, p.Padding), dy,
            static (n, g) =>
            {
                var p = (PoolArgs)n.Extra!;
                return AvgPool2d(g, p.Kernel, p.Stride, p.Padding);
            });
        y.Node?.Extra = p;
        return y;
    }
}
