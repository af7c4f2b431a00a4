namespace DiffTori.Engine;

/// <summary>
/// Reductions over any set of axes, softmax along one axis. A reduction runs as one kernel call on an
/// [outer, n, inner] view: directly when the reduced axes are adjacent in a dense tensor, otherwise
/// after a copy that moves the reduced axes to the end.
/// </summary>
public static partial class Ops
{
    // axes: empty = all axes; negative axes count from the end.
    public static Tensor Sum(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => Reduce(ReduceOp.Sum, "sum", x, axes, keepDims, 0);
    public static Tensor Mean(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => Reduce(ReduceOp.Mean, "mean", x, axes, keepDims, 0);
    public static Tensor Max(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => Reduce(ReduceOp.Max, "max", x, axes, keepDims, 0);
    public static Tensor Min(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => Reduce(ReduceOp.Min, "min", x, axes, keepDims, 0);
    public static Tensor LogSumExp(Tensor x, ReadOnlySpan<int> axes = default, bool keepDims = false) => Reduce(ReduceOp.LogSumExp, "logsumexp", x, axes, keepDims, 0);

    /// <summary>Variance; correction 1 = unbiased (PyTorch's default), 0 = population.</summary>
    public static Tensor Var(Tensor x, ReadOnlySpan<int> axes = default, int correction = 1, bool keepDims = false)
    {
        if (correction < 0) throw new ArgumentOutOfRangeException(nameof(correction), $"var: correction must be ≥ 0, got {correction} (input {x.Shape})");
        return Reduce(ReduceOp.Var, "var", x, axes, keepDims, correction);
    }

    /// <summary>Int32 index of the first maximum along one axis.</summary>
    public static Tensor ArgMax(Tensor x, int axis, bool keepDims = false) => Reduce(ReduceOp.ArgMax, "argmax", x, [axis], keepDims, 0);
    public static Tensor ArgMin(Tensor x, int axis, bool keepDims = false) => Reduce(ReduceOp.ArgMin, "argmin", x, [axis], keepDims, 0);

    /// <summary>Sum a broadcast result back down to shape (the reverse of broadcasting; used by gradients).</summary>
    public static Tensor SumTo(Tensor x, in Shape shape)
    {
        const string name = "sum_to";
        Require.Float(name, x);
        if (shape.Rank > x.Rank)
            throw new TensorShapeException($"{name}: cannot sum shape {x.Shape} down to {shape} (target has more axes)");
        int lead = x.Rank - shape.Rank;
        Span<int> axes = stackalloc int[x.Rank];
        int count = 0;
        for (int i = 0; i < x.Rank; i++)
        {
            if (i < lead) { axes[count++] = i; continue; }
            int target = shape[i - lead];
            if (target == x.Shape[i]) continue;
            if (target != 1)
                throw new TensorShapeException($"{name}: cannot sum shape {x.Shape} down to {shape} (axis {i}: {x.Shape[i]} vs {target})");
            axes[count++] = i;
        }
        if (count == 0)
        {
            var copy = x.Clone();
            NumericCheck.After(name, copy);
            return copy;
        }
        // Sum over the chosen axes (all of them would be read as "every axis" if count were 0, handled above).
        using var summed = ReduceCore(ReduceOp.Sum, name, x, axes[..count], keepDims: true, 0, allWhenEmpty: false);
        var result = summed.Reshape(shape);
        NumericCheck.After(name, result);
        return result;
    }

    public static Tensor Softmax(Tensor x, int axis = -1) => SoftmaxCore(x, axis, log: false, "softmax");
    public static Tensor LogSoftmax(Tensor x, int axis = -1) => SoftmaxCore(x, axis, log: true, "log_softmax");

    private static Tensor SoftmaxCore(Tensor x, int axis, bool log, string name)
    {
        Require.Float(name, x);
        if (x.Rank == 0)
            throw new TensorShapeException($"{name}: needs at least one axis, got a scalar of shape {x.Shape}");
        int a = x.Shape.NormalizeAxis(axis, name);
        var (outer, n, inner) = SplitAround(x.Shape, a);
        // A dense input is used as is (no view object allocated).
        var dense = x.IsContiguous ? x : x.Contiguous();
        var result = NewLike(x, x.Shape);
        try { x.Device.Backend.Softmax(dense, outer, n, inner, result, log); }
        finally { if (!ReferenceEquals(dense, x)) dense.Dispose(); }
        NumericCheck.After(name, result);
        return result;
    }

    private static Tensor Reduce(ReduceOp op, string name, Tensor x, ReadOnlySpan<int> axes, bool keepDims, double p0)
    {
        var result = ReduceCore(op, name, x, axes, keepDims, p0, allWhenEmpty: true);
        NumericCheck.After(name, result);
        return result;
    }

    private static Tensor ReduceCore(ReduceOp op, string name, Tensor x, ReadOnlySpan<int> axes, bool keepDims, double p0, bool allWhenEmpty)
    {
        Require.Float(name, x);
        int rank = x.Rank;
        Span<bool> reduced = stackalloc bool[Math.Max(rank, 1)];
        reduced.Clear();
        if (axes.Length == 0 && allWhenEmpty) reduced.Fill(true);
        foreach (int axis in axes)
        {
            int a = x.Shape.NormalizeAxis(axis, name);
            if (reduced[a])
                throw new ArgumentException($"{name}: axis {axis} appears more than once in the axes for shape {x.Shape}");
            reduced[a] = true;
        }

        // Result shape, and the size of the reduced part.
        Span<int> outDims = stackalloc int[Math.Max(rank, 1)];
        int outRank = 0, n = 1, first = -1, last = -1;
        for (int i = 0; i < rank; i++)
        {
            if (reduced[i])
            {
                n *= x.Shape[i];
                if (first < 0) first = i;
                last = i;
                if (keepDims) outDims[outRank++] = 1;
            }
            else outDims[outRank++] = x.Shape[i];
        }
        if (n == 0 && op is ReduceOp.Max or ReduceOp.Min or ReduceOp.ArgMax or ReduceOp.ArgMin)
            throw new ArgumentException($"{name}: cannot reduce over an empty axis (shape {x.Shape})");
        var outShape = new Shape(outDims[..outRank]);
        var dtype = op is ReduceOp.ArgMax or ReduceOp.ArgMin ? DType.Int32 : x.DType;
        var result = Tensor.Empty(outShape, dtype, x.Device);

        bool adjacent = true;
        for (int i = first; i >= 0 && i <= last; i++) adjacent &= reduced[i];
        if (first < 0)
        {
            // Nothing reduced (a scalar, or no axes for SumTo): every element is its own group of one.
            using var dense = x.Contiguous();
            x.Device.Backend.Reduce(op, dense, x.Length, 1, 1, result, p0);
        }
        else if (adjacent)
        {
            int outer = 1, inner = 1;
            for (int i = 0; i < first; i++) outer *= x.Shape[i];
            for (int i = last + 1; i < rank; i++) inner *= x.Shape[i];
            var dense = x.IsContiguous ? x : x.Contiguous();
            try { x.Device.Backend.Reduce(op, dense, outer, n, inner, result, p0); }
            finally { if (!ReferenceEquals(dense, x)) dense.Dispose(); }
        }
        else
        {
            // Move kept axes first and reduced axes last, make it dense, reduce the trailing block.
            Span<int> order = stackalloc int[rank];
            int k = 0;
            for (int i = 0; i < rank; i++) if (!reduced[i]) order[k++] = i;
            for (int i = 0; i < rank; i++) if (reduced[i]) order[k++] = i;
            using var permuted = x.Permute(order);
            using var dense = permuted.Contiguous();
            x.Device.Backend.Reduce(op, dense, x.Length == 0 ? result.Length : x.Length / n, n, 1, result, p0);
        }
        return result;
    }
}
