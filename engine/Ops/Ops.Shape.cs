namespace DiffTori.Engine;

// PLACEHOLDER signatures: replaced by the helper that owns this file. The signatures are the contract.
public static partial class Ops
{
    public static Tensor Concat(ReadOnlySpan<Tensor> tensors, int axis) => throw new NotImplementedException();
    public static Tensor Stack(ReadOnlySpan<Tensor> tensors, int axis) => throw new NotImplementedException();
    /// <summary>Views of consecutive pieces of the given sizes along axis (no copy).</summary>
    public static Tensor[] Split(Tensor x, int axis, ReadOnlySpan<int> sizes) => throw new NotImplementedException();
    /// <summary>Split into count equal views along axis (the last may be smaller).</summary>
    public static Tensor[] Chunk(Tensor x, int count, int axis) => throw new NotImplementedException();
    /// <summary>Constant padding; padding holds (before, after) pairs for the last axes, last axis first (torch.nn.functional.pad order).</summary>
    public static Tensor Pad(Tensor x, ReadOnlySpan<int> padding, double value = 0) => throw new NotImplementedException();
    /// <summary>Entries index[j] (int32, 1-D) of axis.</summary>
    public static Tensor IndexSelect(Tensor x, int axis, Tensor index) => throw new NotImplementedException();
    /// <summary>A tensor of shape 'shape', zero except result[.., index[j], ..] += source[.., j, ..] along axis (the adjoint of IndexSelect).</summary>
    public static Tensor IndexAdd(in Shape shape, int axis, Tensor index, Tensor source) => throw new NotImplementedException();
    /// <summary>result[..., j, ...] = x[..., index[..., j, ...], ...] along axis; index (int32) has x's rank.</summary>
    public static Tensor Gather(Tensor x, int axis, Tensor index) => throw new NotImplementedException();
    /// <summary>Zeros of 'shape' with source added at index along axis (the adjoint of Gather).</summary>
    public static Tensor ScatterAdd(in Shape shape, int axis, Tensor index, Tensor source) => throw new NotImplementedException();
}
