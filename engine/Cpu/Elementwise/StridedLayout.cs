namespace DiffTori.Engine;

/// <summary>
/// The index space of an elementwise kernel over up to three operands (operand 0 is the output),
/// simplified so the inner loops are as long as possible: extent-1 axes are dropped and neighbouring
/// axes that every operand walks as one block are merged. Contiguous same-shape operands become one
/// long row; a bias [n] over [m, n] becomes m rows with the bias at stride 1; a scalar becomes stride 0.
/// A value type: building one allocates nothing.
/// </summary>
internal readonly struct StridedLayout
{
    public readonly Shape Shape;
    public readonly Strides S0, S1, S2;
    public readonly int Offset0, Offset1, Offset2;

    private StridedLayout(in Shape shape, in Strides s0, in Strides s1, in Strides s2, int o0, int o1, int o2)
    {
        Shape = shape;
        S0 = s0; S1 = s1; S2 = s2;
        Offset0 = o0; Offset1 = o1; Offset2 = o2;
    }

    /// <summary>Coalesce a shape walked by up to three operands (unused operands: default strides).</summary>
    public static StridedLayout Create(in Shape shape, in Strides s0, int o0, in Strides s1, int o1, in Strides s2 = default, int o2 = 0)
    {
        int rank = shape.Rank;
        Span<int> d = stackalloc int[Math.Max(rank, 1)];
        Span<int> a = stackalloc int[Math.Max(rank, 1)];
        Span<int> b = stackalloc int[Math.Max(rank, 1)];
        Span<int> c = stackalloc int[Math.Max(rank, 1)];
        int r = 0;
        for (int i = 0; i < rank; i++)
        {
            int extent = shape[i];
            if (extent == 1) continue; // its stride never matters
            int sa = s0.Rank == 0 ? 0 : s0[i], sb = s1.Rank == 0 ? 0 : s1[i], sc = s2.Rank == 0 ? 0 : s2[i];
            // Merge into the previous axis when every operand steps over it as one block.
            if (r > 0 && a[r - 1] == sa * extent && b[r - 1] == sb * extent && c[r - 1] == sc * extent)
            {
                d[r - 1] *= extent;
                a[r - 1] = sa; b[r - 1] = sb; c[r - 1] = sc;
                continue;
            }
            d[r] = extent; a[r] = sa; b[r] = sb; c[r] = sc;
            r++;
        }
        if (r == 0)
        {
            // Every extent is 1: one row of one element.
            d[0] = 1; a[0] = b[0] = c[0] = 1;
            r = 1;
        }
        return new StridedLayout(new Shape(d[..r]), new Strides(a[..r]), new Strides(b[..r]), new Strides(c[..r]), o0, o1, o2);
    }

    public int Rank => Shape.Rank;

    /// <summary>Extent of the outermost axis, the one parallel work is split along.</summary>
    public int OuterExtent => Shape[0];

    /// <summary>The part of the layout with outermost index in [start, start + count).</summary>
    public StridedLayout SliceOuter(int start, int count)
    {
        Span<int> d = stackalloc int[Rank];
        Shape.CopyTo(d);
        d[0] = count;
        return new StridedLayout(new Shape(d), S0, S1, S2,
            Offset0 + start * S0[0], Offset1 + start * S1[0], Offset2 + start * S2[0]);
    }
}

/// <summary>When elementwise and reduction kernels use both cores.</summary>
internal static class Parallelism
{
    /// <summary>Below this many elements the fork/join cost (and its allocations) outweighs a second core.</summary>
    public const int MinElements = 1 << 16;

    /// <summary>Number of blocks to split work of the given size into (1 = run inline).</summary>
    public static int Blocks(long elements, int maxBlocks)
    {
        if (elements <= MinElements || Environment.ProcessorCount == 1) return 1;
        long byWork = elements / (MinElements / 2);
        return (int)Math.Max(1, Math.Min(Math.Min(byWork, 4L * Environment.ProcessorCount), maxBlocks));
    }
}
