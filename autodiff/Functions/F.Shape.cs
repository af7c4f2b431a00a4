using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    // Shape primitives. Most are views in the forward; their rules are the inverse view or its adjoint.

    /// <summary>Same elements, new shape (one extent may be −1). Returns x itself when the shape is unchanged.</summary>
    public static Var Reshape(Var x, in Shape shape)
    {
        if (x.Shape == shape) return x;
        return Record.Op("reshape", x.Value.Reshape(shape), x, static (n, g) => Reshape(g, n.A.Shape));
    }

    public static Var Reshape(Var x, params int[] shape) => Reshape(x, Resolve(x.Shape, shape));

    /// <summary>The shape with its one −1 (if any) replaced by the extent that keeps the element count.</summary>
    private static Shape Resolve(in Shape from, int[] shape)
    {
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] != -1) { known *= shape[i]; continue; }
            if (inferred >= 0) throw new TensorShapeException($"F.Reshape: more than one -1 in [{string.Join(", ", shape)}]");
            inferred = i;
        }
        if (inferred < 0) return new Shape(shape);
        if (known == 0 || from.Length % known != 0)
            throw new TensorShapeException($"F.Reshape: cannot view shape {from} ({from.Length} elements) as [{string.Join(", ", shape)}]");
        var dims = (int[])shape.Clone();
        dims[inferred] = (int)(from.Length / known);
        return new Shape(dims);
    }

    public static Var Flatten(Var x) => Reshape(x, new Shape(x.Length));

    public static Var Unsqueeze(Var x, int axis)
    {
        int a = axis < 0 ? axis + x.Rank + 1 : axis;
        if ((uint)a > (uint)x.Rank) throw new ArgumentOutOfRangeException(nameof(axis), $"F.Unsqueeze: axis {axis} is out of range for shape {x.Shape}");
        return Reshape(x, x.Shape.Insert(a, 1));
    }

    public static Var Squeeze(Var x, int axis)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.Squeeze");
        if (x.Shape[a] != 1) throw new TensorShapeException($"F.Squeeze: axis {axis} of shape {x.Shape} has extent {x.Shape[a]}, not 1");
        return Reshape(x, x.Shape.Remove(a));
    }

    /// <summary>Swap two axes (a view).</summary>
    public static Var Transpose(Var x, int axis0 = -2, int axis1 = -1)
    {
        var y = Record.Op("transpose", x.Value.Transpose(axis0, axis1), x, static (n, g) => Transpose(g, n.I0, n.I1));
        if (y.Node is { } node) { node.I0 = axis0; node.I1 = axis1; }
        return y;
    }

    /// <summary>Reorder axes: result axis i is x's axis order[i] (a view).</summary>
    public static Var Permute(Var x, params int[] order)
    {
        var y = Record.Op("permute", x.Value.Permute(order), x, static (n, g) => Permute(g, n.Ints!));
        if (y.Node is { } node)
        {
            var inverse = new int[order.Length];
            for (int i = 0; i < order.Length; i++) inverse[x.Shape.NormalizeAxis(order[i], "F.Permute")] = i;
            node.Ints = inverse;
        }
        return y;
    }

    /// <summary>Broadcast to a larger shape (a stride-0 view); the gradient is summed back.</summary>
    public static Var Expand(Var x, in Shape shape)
    {
        if (x.Shape == shape) return x;
        return Record.Op("expand", x.Value.Expand(shape), x, static (n, g) => SumTo(g, n.A.Shape));
    }

    /// <summary>Sum a broadcast value back down to shape (the adjoint of <see cref="Expand"/>). Returns x itself when the shape already matches.</summary>
    public static Var SumTo(Var x, in Shape shape)
    {
        if (x.Shape == shape) return x;
        return Record.Op("sum_to", Ops.SumTo(x.Value, shape), x, static (n, g) => Expand(g, n.A.Shape));
    }

    /// <summary>Elements start .. start+length−1 along axis (a view); the gradient is zero-padded back.</summary>
    public static Var Narrow(Var x, int axis, int start, int length)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.Narrow");
        if (start == 0 && length == x.Shape[a]) return x;
        var y = Record.Op("narrow", x.Value.Narrow(a, start, length), x, static (n, g) =>
        {
            int a = n.I0, before = n.I1, after = n.A.Shape[a] - n.I1 - n.Out.Shape[a];
            return Pad(g, PadPairs(n.A.Rank, a, before, after));
        });
        if (y.Node is { } node) { node.I0 = a; node.I1 = start; }
        return y;
    }

    /// <summary>
    /// Constant padding: padding holds (before, after) pairs for the last axes, last axis first (torch's
    /// F.pad order). The gradient is the un-padded window of the incoming gradient.
    /// </summary>
    public static Var Pad(Var x, int[] padding, double value = 0)
    {
        var y = Record.Op("pad", Ops.Pad(x.Value, padding, value), x, static (n, g) =>
        {
            var pads = n.Ints!;
            var r = g;
            for (int p = 0; p < pads.Length / 2; p++)
            {
                int axis = n.A.Rank - 1 - p;
                r = Narrow(r, axis, pads[2 * p], n.A.Shape[axis]);
            }
            return ReferenceEquals(r, g) ? g : Materialize(r);
        });
        y.Node?.Ints = (int[])padding.Clone();
        return y;
    }

    /// <summary>Join along an existing axis; the gradient is split back into the pieces.</summary>
    public static Var Concat(IReadOnlyList<Var> xs, int axis)
    {
        if (xs.Count == 0) throw new ArgumentException("F.Concat: no tensors");
        var inputs = new Var[xs.Count];
        var tensors = new Tensor[xs.Count];
        for (int i = 0; i < inputs.Length; i++) { inputs[i] = xs[i]; tensors[i] = xs[i].Value; }
        int a = xs[0].Shape.NormalizeAxis(axis, "F.Concat");
        var y = Record.Op("concat", Ops.Concat(tensors, a), inputs, static (n, g) =>
        {
            var parts = new Var?[n.Arity];
            int offset = 0;
            for (int i = 0; i < n.Arity; i++)
            {
                var x = n.Many![i];
                int len = x.Shape[n.I0];
                if (x.RequiresGrad) parts[i] = Materialize(Narrow(g, n.I0, offset, len));
                offset += len;
            }
            return Grads.Of(parts);
        });
        y.Node?.I0 = a;
        return y;
    }

    /// <summary>Join along a new axis.</summary>
    public static Var Stack(IReadOnlyList<Var> xs, int axis)
    {
        if (xs.Count == 0) throw new ArgumentException("F.Stack: no tensors");
        var parts = new Var[xs.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = Unsqueeze(xs[i], axis);
        return Concat(parts, axis < 0 ? axis + xs[0].Rank + 1 : axis);
    }

    /// <summary>Consecutive pieces of the given sizes along axis.</summary>
    public static Var[] Split(Var x, int axis, params int[] sizes)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.Split");
        int total = 0;
        foreach (int s in sizes) total += s;
        if (total != x.Shape[a])
            throw new TensorShapeException($"F.Split: sizes sum to {total}, axis {axis} of shape {x.Shape} has {x.Shape[a]}");
        var parts = new Var[sizes.Length];
        for (int i = 0, offset = 0; i < sizes.Length; offset += sizes[i], i++) parts[i] = Narrow(x, a, offset, sizes[i]);
        return parts;
    }

    /// <summary>count nearly equal pieces along axis (the last may be smaller).</summary>
    public static Var[] Chunk(Var x, int count, int axis)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.Chunk");
        int n = x.Shape[a], size = (n + count - 1) / count;
        var sizes = new List<int>();
        for (int offset = 0; offset < n; offset += size) sizes.Add(Math.Min(size, n - offset));
        return Split(x, a, sizes.ToArray());
    }

    /// <summary>The sub-tensor at index along axis (that axis disappears).</summary>
    public static Var Select(Var x, int axis, int index)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.Select");
        if (index < 0) index += x.Shape[a];
        return Squeeze(Narrow(x, a, index, 1), a);
    }

    /// <summary>Entries index[j] (int32, 1-D) of axis; the gradient is added back at those entries.</summary>
    public static Var IndexSelect(Var x, int axis, Tensor index)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.IndexSelect");
        var y = Record.Op("index_select", Ops.IndexSelect(x.Value, a, index), x,
            static (n, g) => IndexAdd(n.A.Shape, n.I0, (Tensor)n.Extra!, g));
        if (y.Node is { } node) { node.I0 = a; node.Extra = index; }
        return y;
    }

    /// <summary>Zeros of shape with source added at index along axis (the adjoint of IndexSelect).</summary>
    public static Var IndexAdd(in Shape shape, int axis, Tensor index, Var source)
    {
        int a = shape.NormalizeAxis(axis, "F.IndexAdd");
        var y = Record.Op("index_add", Ops.IndexAdd(shape, a, index, source.Value), source,
            static (n, g) => IndexSelect(g, n.I0, (Tensor)n.Extra!));
        if (y.Node is { } node) { node.I0 = a; node.Extra = index; }
        return y;
    }

    /// <summary>result[..j..] = x[..index[..j..]..] along axis (index int32 of x's rank); the gradient is scattered back.</summary>
    public static Var Gather(Var x, int axis, Tensor index)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.Gather");
        var y = Record.Op("gather", Ops.Gather(x.Value, a, index), x,
            static (n, g) => ScatterAdd(n.A.Shape, n.I0, (Tensor)n.Extra!, g));
        if (y.Node is { } node) { node.I0 = a; node.Extra = index; }
        return y;
    }

    /// <summary>Zeros of shape with source added at index along axis (the adjoint of Gather).</summary>
    public static Var ScatterAdd(in Shape shape, int axis, Tensor index, Var source)
    {
        int a = shape.NormalizeAxis(axis, "F.ScatterAdd");
        var y = Record.Op("scatter_add", Ops.ScatterAdd(shape, a, index, source.Value), source,
            static (n, g) => Gather(g, n.I0, (Tensor)n.Extra!));
        if (y.Node is { } node) { node.I0 = a; node.Extra = index; }
        return y;
    }

    /// <summary>(before, after) pairs, last axis first, that pad only one axis.</summary>
    private static int[] PadPairs(int rank, int axis, int before, int after)
    {
        var pads = new int[2 * (rank - axis)];
        pads[2 * (rank - 1 - axis)] = before;
        pads[2 * (rank - 1 - axis) + 1] = after;
        return pads;
    }

    /// <summary>
    /// Without recording, a dense copy of a view (so a gradient handed to an input never aliases its
    /// siblings); when recording (createGraph), the view itself.
    /// </summary>
    private static Var Materialize(Var v)
    {
        if (Autograd.IsGradEnabled && v.RequiresGrad) return v;
        return new Var(v.Value.Contiguous(), null);
    }
}
