namespace DiffTori.Engine;

/// <summary>NumPy broadcasting: shapes align on the right; an extent of 1 stretches to match.</summary>
public static class Broadcast
{
    /// <summary>The shape two operands broadcast to, or an error naming the op and both shapes.</summary>
    public static Shape Shapes(string op, in Shape a, in Shape b)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        Span<int> dims = stackalloc int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new TensorShapeException($"{op}: shapes {a} and {b} cannot be broadcast together (axis {i}: {da} vs {db})");
            dims[i] = da == 1 ? db : da;
        }
        return new Shape(dims);
    }

    public static Shape Shapes(string op, in Shape a, in Shape b, in Shape c) => Shapes(op, Shapes(op, a, b), c);

    /// <summary>
    /// Strides that read tensor t as if it had the (larger or equal) shape target: the same strides on
    /// matching axes, 0 on broadcast and leading axes. Allocates nothing.
    /// </summary>
    public static Strides StridesFor(Tensor t, in Shape target, string op = "broadcast")
    {
        int rank = target.Rank;
        if (t.Rank > rank)
            throw new TensorShapeException($"{op}: shape {t.Shape} cannot be broadcast to {target}");
        Span<int> steps = stackalloc int[rank];
        int lead = rank - t.Rank;
        for (int i = 0; i < rank; i++)
        {
            if (i < lead) { steps[i] = 0; continue; }
            int d = t.Shape[i - lead];
            if (d == target[i]) steps[i] = d == 1 ? 0 : t.Strides[i - lead];
            else if (d == 1) steps[i] = 0;
            else throw new TensorShapeException($"{op}: shape {t.Shape} cannot be broadcast to {target} (axis {i}: {d} vs {target[i]})");
        }
        return new Strides(steps);
    }
}
