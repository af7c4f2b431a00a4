using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    // Reductions. axes: empty = all axes, negative count from the end. The backward re-inserts the
    // reduced axes (shape S0 = x's shape with 1 on reduced axes) and broadcasts back to x's shape.

    public static Var Sum(Var x, ReadOnlySpan<int> axes = default, bool keepDims = false)
    {
        var y = Record.Op("sum", Ops.Sum(x.Value, axes, keepDims), x,
            static (n, g) => Expand(Reshape(g, n.S0), n.A.Shape));
        y.Node?.S0 = KeptShape(x.Shape, axes, "sum");
        return y;
    }

    public static Var Sum(Var x, int axis, bool keepDims = false) => Sum(x, [axis], keepDims);

    public static Var Mean(Var x, ReadOnlySpan<int> axes = default, bool keepDims = false)
    {
        var y = Record.Op("mean", Ops.Mean(x.Value, axes, keepDims), x,
            static (n, g) => Expand(Reshape(g, n.S0), n.A.Shape) * n.P0);
        if (y.Node is { } node)
        {
            node.S0 = KeptShape(x.Shape, axes, "mean");
            node.P0 = (double)node.S0.Length / x.Length;
        }
        return y;
    }

    public static Var Mean(Var x, int axis, bool keepDims = false) => Mean(x, [axis], keepDims);

    /// <summary>Maximum over axes; the gradient is shared equally among tied maxima.</summary>
    public static Var Max(Var x, ReadOnlySpan<int> axes = default, bool keepDims = false) => Extremum(x, axes, keepDims, max: true);

    public static Var Min(Var x, ReadOnlySpan<int> axes = default, bool keepDims = false) => Extremum(x, axes, keepDims, max: false);

    private static Var Extremum(Var x, ReadOnlySpan<int> axes, bool keepDims, bool max)
    {
        var value = max ? Ops.Max(x.Value, axes, keepDims) : Ops.Min(x.Value, axes, keepDims);
        var y = Record.Op(max ? "max" : "min", value, x, static (n, g) =>
        {
            using var kept = n.Out.Value.Reshape(n.S0);
            var hit = Ops.Equal(n.A.Value, kept);
            using var count = Ops.Sum(hit, n.Ints, keepDims: true);
            var share = Constant(Ops.Div(hit, count));
            hit.Dispose();
            return Expand(Reshape(g, n.S0), n.A.Shape) * share;
        });
        if (y.Node is { } node)
        {
            node.S0 = KeptShape(x.Shape, axes, "max");
            node.Ints = ReducedAxes(x.Shape, node.S0);
        }
        return y;
    }

    /// <summary>log Σ exp(x) over axes, computed stably; d/dx = exp(x − y) = softmax.</summary>
    public static Var LogSumExp(Var x, ReadOnlySpan<int> axes = default, bool keepDims = false)
    {
        var y = Record.Op("logsumexp", Ops.LogSumExp(x.Value, axes, keepDims), x, static (n, g) =>
        {
            var kept = Reshape(n.Out, n.S0);
            return Expand(Reshape(g, n.S0), n.A.Shape) * Exp(n.A - kept);
        });
        y.Node?.S0 = KeptShape(x.Shape, axes, "logsumexp");
        return y;
    }

    public static Var LogSumExp(Var x, int axis, bool keepDims = false) => LogSumExp(x, [axis], keepDims);

    /// <summary>Variance over axes (correction 1 = unbiased, 0 = population), as a composite of means.</summary>
    public static Var Variance(Var x, ReadOnlySpan<int> axes = default, int correction = 1, bool keepDims = false)
    {
        var kept = KeptShape(x.Shape, axes, "variance");
        int count = x.Length / Math.Max(kept.Length, 1);
        var centered = x - Mean(x, axes, keepDims: true);
        var ss = Sum(Square(centered), axes, keepDims);
        return ss * (1.0 / Math.Max(count - correction, 1));
    }

    /// <summary>x's shape with the reduced axes set to 1 (empty axes = all).</summary>
    internal static Shape KeptShape(in Shape shape, ReadOnlySpan<int> axes, string op)
    {
        Span<int> d = stackalloc int[shape.Rank];
        shape.CopyTo(d);
        if (axes.IsEmpty) d.Fill(1);
        foreach (int a in axes) d[shape.NormalizeAxis(a, op)] = 1;
        return new Shape(d);
    }

    /// <summary>The axes where kept has a 1 and shape does not (for rules that reduce again).</summary>
    private static int[] ReducedAxes(in Shape shape, in Shape kept)
    {
        int count = 0;
        for (int i = 0; i < shape.Rank; i++) if (kept[i] == 1) count++;
        var axes = new int[count];
        for (int i = 0, j = 0; i < shape.Rank; i++) if (kept[i] == 1) axes[j++] = i;
        return axes;
    }
}
