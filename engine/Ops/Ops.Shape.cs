namespace DiffTori.Engine;

/// <summary>Data movement (concat, stack, split, pad) and indexing (index-select/add, gather/scatter-add).</summary>
public static partial class Ops
{
    /// <summary>Join tensors of equal shape except along axis.</summary>
    public static Tensor Concat(ReadOnlySpan<Tensor> tensors, int axis)
    {
        if (tensors.Length == 0) throw new ArgumentException("concat: needs at least one tensor");
        var first = tensors[0];
        axis = first.Shape.NormalizeAxis(axis, "concat");
        int total = 0;
        for (int t = 0; t < tensors.Length; t++)
        {
            var x = tensors[t];
            CheckJoinable("concat", axis, first, x, t);
            if (x.Rank != first.Rank)
                throw new TensorShapeException($"concat along axis {axis}: tensor {t} has shape {x.Shape}, its rank differs from tensor 0 {first.Shape}");
            for (int d = 0; d < first.Rank; d++)
                if (d != axis && x.Shape[d] != first.Shape[d])
                    throw new TensorShapeException(
                        $"concat along axis {axis}: tensor {t} has shape {x.Shape}, tensor 0 has {first.Shape} (axis {d} differs)");
            total += x.Shape[axis];
        }
        var result = NewLike(first, first.Shape.With(axis, total));
        var backend = first.Device.Backend;
        int start = 0;
        for (int t = 0; t < tensors.Length; t++)
        {
            int length = tensors[t].Shape[axis];
            if (length == 0) continue;
            using var slot = result.Narrow(axis, start, length);
            backend.Copy(tensors[t], slot);
            start += length;
        }
        NumericCheck.After("concat", result);
        return result;
    }

    /// <summary>Join tensors of identical shape along a new axis.</summary>
    public static Tensor Stack(ReadOnlySpan<Tensor> tensors, int axis)
    {
        if (tensors.Length == 0) throw new ArgumentException("stack: needs at least one tensor");
        var first = tensors[0];
        if (axis < 0) axis += first.Rank + 1;
        if ((uint)axis > (uint)first.Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"stack: axis {axis} is out of range for tensors of shape {first.Shape}");
        for (int t = 0; t < tensors.Length; t++)
        {
            CheckJoinable("stack", axis, first, tensors[t], t);
            if (tensors[t].Shape != first.Shape)
                throw new TensorShapeException($"stack along axis {axis}: tensor {t} has shape {tensors[t].Shape}, tensor 0 has {first.Shape}");
        }
        var result = NewLike(first, first.Shape.Insert(axis, tensors.Length));
        var backend = first.Device.Backend;
        for (int t = 0; t < tensors.Length; t++)
        {
            if (first.Length == 0) break;
            using var slot = result.Select(axis, t);
            backend.Copy(tensors[t], slot);
        }
        NumericCheck.After("stack", result);
        return result;
    }

    private static void CheckJoinable(string op, int axis, Tensor first, Tensor x, int index)
    {
        if (x.DType != first.DType)
            throw new ArgumentException(
                $"{op} along axis {axis}: tensor {index} is {x.DType.Name()} {x.Shape}, tensor 0 is {first.DType.Name()} {first.Shape}");
        if (x.Device != first.Device)
            throw new ArgumentException(
                $"{op} along axis {axis}: tensor {index} {x.Shape} is on {x.Device}, tensor 0 {first.Shape} is on {first.Device}");
    }

    /// <summary>Views of consecutive pieces of the given sizes along axis (no copy).</summary>
    public static Tensor[] Split(Tensor x, int axis, ReadOnlySpan<int> sizes)
    {
        axis = x.Shape.NormalizeAxis(axis, "split");
        long sum = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            if (sizes[i] < 0)
                throw new ArgumentException($"split: size {sizes[i]} (piece {i}) is negative, splitting axis {axis} of {x.Shape}");
            sum += sizes[i];
        }
        if (sum != x.Shape[axis])
            throw new TensorShapeException(
                $"split: sizes {Shape.Format(sizes)} add up to {sum}, but axis {axis} of shape {x.Shape} has extent {x.Shape[axis]}");
        var pieces = new Tensor[sizes.Length];
        int start = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            pieces[i] = x.Narrow(axis, start, sizes[i]);
            start += sizes[i];
        }
        return pieces;
    }

    /// <summary>Split into count equal views along axis (the last may be smaller).</summary>
    /// <remarks>As torch.chunk: pieces of ceil(n / count) elements, so fewer than count pieces may come back.</remarks>
    public static Tensor[] Chunk(Tensor x, int count, int axis)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"chunk: count must be positive, got {count} for shape {x.Shape}");
        axis = x.Shape.NormalizeAxis(axis, "chunk");
        int n = x.Shape[axis];
        if (n == 0)
        {
            // Nothing to divide: count empty pieces, so callers that index the pieces still can.
            var empty = new Tensor[count];
            for (int i = 0; i < count; i++) empty[i] = x.Narrow(axis, 0, 0);
            return empty;
        }
        int size = (n + count - 1) / count;
        int pieces = (n + size - 1) / size;
        var result = new Tensor[pieces];
        for (int i = 0; i < pieces; i++)
            result[i] = x.Narrow(axis, i * size, Math.Min(size, n - i * size));
        return result;
    }

    /// <summary>Constant padding; padding holds (before, after) pairs for the last axes, last axis first (torch.nn.functional.pad order).</summary>
    public static Tensor Pad(Tensor x, ReadOnlySpan<int> padding, double value = 0)
    {
        if (padding.Length % 2 != 0 || padding.Length / 2 > x.Rank)
            throw new ArgumentException(
                $"pad: padding {Shape.Format(padding)} must hold (before, after) pairs for at most {x.Rank} axes of shape {x.Shape}");
        Span<int> dims = stackalloc int[x.Rank];
        x.Shape.CopyTo(dims);
        for (int p = 0; p < padding.Length / 2; p++)
        {
            int axis = x.Rank - 1 - p;
            int before = padding[2 * p], after = padding[2 * p + 1];
            if (before < 0 || after < 0)
                throw new ArgumentException($"pad: negative padding ({before}, {after}) for axis {axis} of shape {x.Shape} is not supported");
            dims[axis] += before + after;
        }
        var result = NewLike(x, new Shape(dims));
        var backend = x.Device.Backend;
        backend.Fill(result, value);
        if (x.Length > 0)
        {
            // Narrow the result to the interior one padded axis at a time, then copy x into it.
            var interior = result.View(result.Shape, result.Strides, result.Offset);
            for (int p = 0; p < padding.Length / 2; p++)
            {
                int axis = x.Rank - 1 - p;
                var inner = interior.Narrow(axis, padding[2 * p], x.Shape[axis]);
                interior.Dispose();
                interior = inner;
            }
            backend.Copy(x, interior);
            interior.Dispose();
        }
        NumericCheck.After("pad", result);
        return result;
    }

    /// <summary>Entries index[j] (int32, 1-D) of axis.</summary>
    public static Tensor IndexSelect(Tensor x, int axis, Tensor index)
    {
        const string op = "index_select";
        axis = x.Shape.NormalizeAxis(axis, op);
        Require.Int32(op, index);
        Require.SameDevice(op, x, index);
        Require.Rank(op, index, 1, "index");
        var (outer, n, inner) = SplitAround(x.Shape, axis);
        int k = index.Shape[0];
        using var idx = index.Contiguous();
        IndexChecks.InRange(op, idx, axis, n);
        using var dense = x.Contiguous();
        var result = NewLike(x, x.Shape.With(axis, k));
        if (result.Length > 0) x.Device.Backend.IndexSelect(dense, outer, n, inner, idx, result);
        NumericCheck.After(op, result);
        return result;
    }

    /// <summary>A tensor of shape 'shape', zero except result[.., index[j], ..] += source[.., j, ..] along axis (the adjoint of IndexSelect).</summary>
    public static Tensor IndexAdd(in Shape shape, int axis, Tensor index, Tensor source)
    {
        const string op = "index_add";
        axis = shape.NormalizeAxis(axis, op);
        Require.Int32(op, index);
        Require.SameDevice(op, source, index);
        Require.Rank(op, index, 1, "index");
        var expected = shape.With(axis, index.Shape[0]);
        if (source.Shape != expected)
            throw new TensorShapeException(
                $"{op}: source has shape {source.Shape}, expected {expected} (shape {shape} with axis {axis} of extent index length {index.Shape[0]})");
        var (outer, n, inner) = SplitAround(shape, axis);
        using var idx = index.Contiguous();
        IndexChecks.InRange(op, idx, axis, n);
        using var src = source.Contiguous();
        var result = Tensor.Zeros(shape, source.DType, source.Device);
        if (src.Length > 0) source.Device.Backend.IndexAdd(src, outer, n, inner, idx, result);
        NumericCheck.After(op, result);
        return result;
    }

    /// <summary>result[..., j, ...] = x[..., index[..., j, ...], ...] along axis; index (int32) has x's rank.</summary>
    /// <remarks>index must match x's shape on every axis but 'axis'.</remarks>
    public static Tensor Gather(Tensor x, int axis, Tensor index)
    {
        const string op = "gather";
        axis = x.Shape.NormalizeAxis(axis, op);
        Require.Int32(op, index);
        Require.SameDevice(op, x, index);
        CheckIndexShape(op, x.Shape, axis, index.Shape, "x");
        var (outer, n, inner) = SplitAround(x.Shape, axis);
        int k = index.Shape[axis];
        using var idx = index.Contiguous();
        IndexChecks.InRange(op, idx, axis, n);
        using var dense = x.Contiguous();
        var result = NewLike(x, index.Shape);
        if (result.Length > 0) x.Device.Backend.Gather(dense, outer, n, inner, idx, k, result);
        NumericCheck.After(op, result);
        return result;
    }

    /// <summary>Zeros of 'shape' with source added at index along axis (the adjoint of Gather).</summary>
    public static Tensor ScatterAdd(in Shape shape, int axis, Tensor index, Tensor source)
    {
        const string op = "scatter_add";
        axis = shape.NormalizeAxis(axis, op);
        Require.Int32(op, index);
        Require.SameDevice(op, source, index);
        CheckIndexShape(op, shape, axis, index.Shape, "shape");
        if (source.Shape != index.Shape)
            throw new TensorShapeException($"{op}: source has shape {source.Shape}, index has {index.Shape}; they must match");
        var (outer, n, inner) = SplitAround(shape, axis);
        int k = index.Shape[axis];
        using var idx = index.Contiguous();
        IndexChecks.InRange(op, idx, axis, n);
        using var src = source.Contiguous();
        var result = Tensor.Zeros(shape, source.DType, source.Device);
        if (src.Length > 0) source.Device.Backend.ScatterAdd(src, outer, n, inner, idx, k, result);
        NumericCheck.After(op, result);
        return result;
    }

    private static void CheckIndexShape(string op, in Shape target, int axis, in Shape index, string what)
    {
        bool ok = index.Rank == target.Rank;
        for (int d = 0; ok && d < target.Rank; d++) ok = d == axis || index[d] == target[d];
        if (!ok)
            throw new TensorShapeException(
                $"{op} along axis {axis}: index has shape {index}, {what} has {target}; they must agree on every axis but {axis}");
    }
}
