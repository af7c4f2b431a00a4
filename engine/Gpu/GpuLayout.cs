namespace DiffTori.Engine;

/// <summary>
/// How a kernel finds element i (row-major over the iteration shape) of one operand: up to 8 axes,
/// stored innermost first (D0/S0 is the last axis), plus the operand's offset. A plain struct of ints
/// so ILGPU passes it by value; the host collapses mergeable axes so most calls have rank 1 or 2.
/// </summary>
internal struct GpuLayout
{
    public int Rank, Offset;
    public int D0, D1, D2, D3, D4, D5, D6, D7;
    public int S0, S1, S2, S3, S4, S5, S6, S7;

    /// <summary>Storage index of element <paramref name="linear"/>.</summary>
    public readonly int At(int linear)
    {
        int at = Offset, rest = linear, q;
        q = rest / D0; at += (rest - q * D0) * S0; rest = q; if (Rank <= 1) return at;
        q = rest / D1; at += (rest - q * D1) * S1; rest = q; if (Rank <= 2) return at;
        q = rest / D2; at += (rest - q * D2) * S2; rest = q; if (Rank <= 3) return at;
        q = rest / D3; at += (rest - q * D3) * S3; rest = q; if (Rank <= 4) return at;
        q = rest / D4; at += (rest - q * D4) * S4; rest = q; if (Rank <= 5) return at;
        q = rest / D5; at += (rest - q * D5) * S5; rest = q; if (Rank <= 6) return at;
        q = rest / D6; at += (rest - q * D6) * S6; rest = q; if (Rank <= 7) return at;
        return at + rest * S7;
    }

    /// <summary>A contiguous run of elements starting at offset.</summary>
    public static GpuLayout Dense(int offset, int length) => new() { Rank = 1, Offset = offset, D0 = Math.Max(length, 1), S0 = 1 };

    private void Set(int k, int extent, int stride)
    {
        switch (k)
        {
            case 0: D0 = extent; S0 = stride; break;
            case 1: D1 = extent; S1 = stride; break;
            case 2: D2 = extent; S2 = stride; break;
            case 3: D3 = extent; S3 = stride; break;
            case 4: D4 = extent; S4 = stride; break;
            case 5: D5 = extent; S5 = stride; break;
            case 6: D6 = extent; S6 = stride; break;
            default: D7 = extent; S7 = stride; break;
        }
    }

    /// <summary>
    /// Layouts of up to four operands iterated over one shape (broadcast axes have stride 0). Axes of
    /// extent 1 are dropped and neighbours that are contiguous in every operand are merged.
    /// </summary>
    public static void Build(in Shape shape, ReadOnlySpan<Strides> strides, ReadOnlySpan<int> offsets, Span<GpuLayout> layouts)
    {
        int operands = strides.Length;
        Span<int> dims = stackalloc int[Shape.MaxRank];
        Span<int> steps = stackalloc int[Shape.MaxRank * 4];
        int rank = 0;
        // Walk from the outermost axis in, merging an axis into the previous kept one when possible.
        for (int axis = 0; axis < shape.Rank; axis++)
        {
            int extent = shape[axis];
            if (extent == 1) continue;
            bool merge = rank > 0;
            for (int o = 0; o < operands && merge; o++)
                merge = steps[o * Shape.MaxRank + rank - 1] == strides[o][axis] * extent;
            if (merge)
            {
                dims[rank - 1] *= extent;
                for (int o = 0; o < operands; o++) steps[o * Shape.MaxRank + rank - 1] = strides[o][axis];
                continue;
            }
            dims[rank] = extent;
            for (int o = 0; o < operands; o++) steps[o * Shape.MaxRank + rank] = strides[o][axis];
            rank++;
        }
        for (int o = 0; o < operands; o++)
        {
            var l = new GpuLayout { Rank = Math.Max(rank, 1), Offset = offsets[o], D0 = 1 };
            // Stored innermost first.
            for (int k = 0; k < rank; k++) l.Set(k, dims[rank - 1 - k], steps[o * Shape.MaxRank + rank - 1 - k]);
            layouts[o] = l;
        }
    }
}
