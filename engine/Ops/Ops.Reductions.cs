namespace DiffTori.Engine;

// PLACEHOLDER signatures: replaced by the helper that owns this file. The signatures are the contract.
public static partial class Ops
{
    // axes: empty = all axes; negative axes count from the end.
    public static Tensor Sum(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => throw new NotImplementedException();
    public static Tensor Mean(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => throw new NotImplementedException();
    public static Tensor Max(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => throw new NotImplementedException();
    public static Tensor Min(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => throw new NotImplementedException();
    public static Tensor LogSumExp(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => throw new NotImplementedException();
    /// <summary>Variance; correction 1 = unbiased (PyTorch's default), 0 = population.</summary>
    public static Tensor Var(Tensor x, ReadOnlySpan<int> axes = default, int correction = 1, bool keepDims = false) => throw new NotImplementedException();
    /// <summary>Int32 index of the first maximum along one axis.</summary>
    public static Tensor ArgMax(Tensor x, int axis, bool keepDims = false) => throw new NotImplementedException();
    public static Tensor ArgMin(Tensor x, int axis, bool keepDims = false) => throw new NotImplementedException();
    /// <summary>Sum a broadcast result back down to shape (the reverse of broadcasting; used by gradients).</summary>
    public static Tensor SumTo(Tensor x, in Shape shape) => throw new NotImplementedException();
    public static Tensor Softmax(Tensor x, int axis = -1) => throw new NotImplementedException();
    public static Tensor LogSoftmax(Tensor x, int axis = -1) => throw new NotImplementedException();
}
