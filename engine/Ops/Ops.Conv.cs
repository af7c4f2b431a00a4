namespace DiffTori.Engine;

// PLACEHOLDER signatures: replaced by the helper that owns this file. The signatures are the contract.
public static partial class Ops
{
    /// <summary>x [N, C, H, W], weight [O, C/groups, KH, KW], bias [O] or null.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, (int H, int W) stride = default, (int H, int W) padding = default, (int H, int W) dilation = default, int groups = 1) => throw new NotImplementedException();
    public static Tensor Conv2dInputGrad(Tensor dy, Tensor weight, in Shape inputShape, (int H, int W) stride = default, (int H, int W) padding = default, (int H, int W) dilation = default, int groups = 1) => throw new NotImplementedException();
    public static Tensor Conv2dWeightGrad(Tensor x, Tensor dy, in Shape weightShape, (int H, int W) stride = default, (int H, int W) padding = default, (int H, int W) dilation = default, int groups = 1) => throw new NotImplementedException();
    /// <summary>x [N, C, L], weight [O, C/groups, K], bias [O] or null. (stride default 1, padding 0, dilation 1.)</summary>
    public static Tensor Conv1d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) => throw new NotImplementedException();
    public static Tensor Conv1dInputGrad(Tensor dy, Tensor weight, in Shape inputShape, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) => throw new NotImplementedException();
    public static Tensor Conv1dWeightGrad(Tensor x, Tensor dy, in Shape weightShape, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) => throw new NotImplementedException();
    /// <summary>Max pooling of [N, C, H, W]; argmax (int32) is what MaxPool2dBackward needs. stride default = kernel.</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, out Tensor argmax, (int H, int W) stride = default, (int H, int W) padding = default) => throw new NotImplementedException();
    public static Tensor MaxPool2dBackward(Tensor dy, Tensor argmax, in Shape inputShape, (int H, int W) kernel, (int H, int W) stride = default, (int H, int W) padding = default) => throw new NotImplementedException();
    public static Tensor AvgPool2d(Tensor x, (int H, int W) kernel, (int H, int W) stride = default, (int H, int W) padding = default) => throw new NotImplementedException();
    public static Tensor AvgPool2dBackward(Tensor dy, in Shape inputShape, (int H, int W) kernel, (int H, int W) stride = default, (int H, int W) padding = default) => throw new NotImplementedException();
}
