namespace DiffTori.Engine;

/// <summary>Views: new shapes over the same storage. None of these copies data except where noted.</summary>
public sealed partial class Tensor
{
    /// <summary>Same elements, new shape; one extent may be -1 (inferred). Copies only if this view is not contiguous.</summary>
    public Tensor Reshape(params ReadOnlySpan<int> shape)
    {
        var target = InferShape(shape);
        if (IsContiguous) return View(target, Strides.RowMajor(target), Offset);
        using var dense = Contiguous();
        return dense.View(target, Strides.RowMajor(target), dense.Offset);
    }

    public Tensor Reshape(in Shape shape) => Reshape(shape.ToArray());

    /// <summary>Collapse all axes into one.</summary>
    public Tensor Flatten() => Reshape(Length);

    private Shape InferShape(ReadOnlySpan<int> shape)
    {
        Span<int> dims = stackalloc int[shape.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            dims[i] = shape[i];
            if (shape[i] == -1)
            {
                if (inferred >= 0) throw new TensorShapeException($"reshape: more than one -1 in {Shape.Format(shape)}");
                inferred = i;
            }
            else known *= shape[i];
        }
        if (inferred >= 0)
        {
            if (known == 0 || Length % known != 0)
                throw new TensorShapeException($"reshape: cannot view shape {Shape} ({Length} elements) as {Shape.Format(shape)}");
            dims[inferred] = (int)(Length / known);
            known *= dims[inferred];
        }
        if (known != Length)
            throw new TensorShapeException($"reshape: cannot view shape {Shape} ({Length} elements) as {Shape.Format(shape)}");
        return new Shape(dims);
    }

    /// <summary>Elements start .. start+length-1 along one axis.</summary>
    public Tensor Narrow(int axis, int start, int length)
    {
        axis = Shape.NormalizeAxis(axis, "narrow");
        if (start < 0 || length < 0 || start + length > Shape[axis])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow: [{start}, {start + length}) is out of range for axis {axis} of shape {Shape}");
        return View(Shape.With(axis, length), Strides, Offset + start * Strides[axis]);
    }

    /// <summary>Python-style slice start:end:step along one axis (negative start/end count from the end).</summary>
    public Tensor Slice(int axis, int start, int end, int step = 1)
    {
        axis = Shape.NormalizeAxis(axis, "slice");
        int n = Shape[axis];
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step), $"slice: step must be positive, got {step}");
        if (start < 0) start += n;
        if (end < 0) end += n;
        start = Math.Clamp(start, 0, n);
        end = Math.Clamp(end, start, n);
        int count = (end - start + step - 1) / step;
        Span<int> strides = stackalloc int[Rank];
        Strides.CopyTo(strides);
        strides[axis] *= step;
        return View(Shape.With(axis, count), new Strides(strides), Offset + start * Strides[axis]);
    }

    /// <summary>The sub-tensor at one index of an axis; that axis disappears.</summary>
    public Tensor Select(int axis, int index)
    {
        axis = Shape.NormalizeAxis(axis, "select");
        if (index < 0) index += Shape[axis];
        if ((uint)index >= (uint)Shape[axis])
            throw new IndexOutOfRangeException($"select: index {index} is out of range for axis {axis} of shape {Shape}");
        return View(Shape.Remove(axis), RemoveStride(axis), Offset + index * Strides[axis]);
    }

    /// <summary>Reorder axes: result axis i is this tensor's axis order[i].</summary>
    public Tensor Permute(params ReadOnlySpan<int> order)
    {
        if (order.Length != Rank)
            throw new TensorShapeException($"permute: order {Shape.Format(order)} has {order.Length} axes, the tensor {Shape} has {Rank}");
        Span<int> dims = stackalloc int[Rank];
        Span<int> steps = stackalloc int[Rank];
        Span<bool> seen = stackalloc bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int a = Shape.NormalizeAxis(order[i], "permute");
            if (seen[a]) throw new TensorShapeException($"permute: axis {a} appears twice in {Shape.Format(order)}");
            seen[a] = true;
            dims[i] = Shape[a];
            steps[i] = Strides[a];
        }
        return View(new Shape(dims), new Strides(steps), Offset);
    }

    /// <summary>Swap two axes.</summary>
    public Tensor Transpose(int axis0, int axis1)
    {
        axis0 = Shape.NormalizeAxis(axis0, "transpose");
        axis1 = Shape.NormalizeAxis(axis1, "transpose");
        Span<int> order = stackalloc int[Rank];
        for (int i = 0; i < Rank; i++) order[i] = i;
        (order[axis0], order[axis1]) = (order[axis1], order[axis0]);
        return Permute(order);
    }

    /// <summary>Swap the last two axes (matrix transpose, batched).</summary>
    public Tensor MT => Transpose(-2, -1);

    /// <summary>Insert an axis of extent 1.</summary>
    public Tensor Unsqueeze(int axis)
    {
        if (axis < 0) axis += Rank + 1;
        if ((uint)axis > (uint)Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"unsqueeze: axis {axis} is out of range for shape {Shape}");
        Span<int> steps = stackalloc int[Rank + 1];
        for (int i = 0, j = 0; i <= Rank; i++)
            steps[i] = i == axis ? (axis < Rank ? Strides[axis] * Shape[axis] : 1) : Strides[j++];
        return View(Shape.Insert(axis, 1), new Strides(steps), Offset);
    }

    /// <summary>Remove one axis of extent 1.</summary>
    public Tensor Squeeze(int axis)
    {
        axis = Shape.NormalizeAxis(axis, "squeeze");
        if (Shape[axis] != 1)
            throw new TensorShapeException($"squeeze: axis {axis} of shape {Shape} has extent {Shape[axis]}, not 1");
        return View(Shape.Remove(axis), RemoveStride(axis), Offset);
    }

    /// <summary>Broadcast to a larger shape (NumPy rules) without copying: broadcast axes get stride 0.</summary>
    public Tensor Expand(in Shape shape)
    {
        var strides = Broadcast.StridesFor(this, shape, "expand");
        return View(shape, strides, Offset);
    }

    /// <summary>This tensor if it is already dense; otherwise a dense copy. Dispose the result either way.</summary>
    public Tensor Contiguous()
    {
        if (IsContiguous) return View(Shape, Strides, Offset);
        return Clone();
    }

    /// <summary>A dense copy with its own storage.</summary>
    public Tensor Clone()
    {
        var copy = Empty(Shape, DType, Device);
        Device.Backend.Copy(this, copy);
        return copy;
    }

    /// <summary>Convert the element type (a new tensor).</summary>
    public Tensor Cast(DType dtype)
    {
        var copy = Empty(Shape, dtype, Device);
        Device.Backend.Copy(this, copy);
        return copy;
    }

    /// <summary>Copy to another device (a new tensor; a view of this one if it is already there).</summary>
    public Tensor To(Device device)
    {
        if (device == Device) return View(Shape, Strides, Offset);
        using var dense = Contiguous();
        var moved = Empty(Shape, DType, device);
        switch (DType)
        {
            case DType.Float32: Transfer<float>(dense, moved); break;
            case DType.Float64: Transfer<double>(dense, moved); break;
            default: Transfer<int>(dense, moved); break;
        }
        return moved;
    }

    private static void Transfer<T>(Tensor from, Tensor to) where T : unmanaged
    {
        var host = BufferPool.Rent<T>(from.Length);
        from.Device.Backend.Download(from, host.AsSpan(0, from.Length));
        to.Device.Backend.Upload<T>(host.AsSpan(0, from.Length), to);
        BufferPool.Return(host);
    }

    /// <summary>Copy src (broadcast to this shape, any dtype) into this tensor in place.</summary>
    public void CopyFrom(Tensor src)
    {
        Require.SameDevice("copy", src, this);
        Broadcast.StridesFor(src, Shape, "copy");
        Device.Backend.Copy(src, this);
    }

    private Strides RemoveStride(int axis)
    {
        Span<int> steps = stackalloc int[Rank - 1];
        for (int i = 0, j = 0; i < Rank; i++) if (i != axis) steps[j++] = Strides[i];
        return new Strides(steps);
    }
}
