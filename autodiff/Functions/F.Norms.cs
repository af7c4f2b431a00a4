using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    /// <summary>
    /// Layer norm over the last normalizedAxes axes (0 = weight's rank, or 1 without weight), then
    /// ·weight + bias. One fused kernel; it saves mean and 1/σ for the rule
    ///   x̂ = (x − μ)/σ,  ∂b = Σ g,  ∂w = Σ g·x̂,  ∂x = (1/σ)·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)),  ĝ = g·w.
    /// When the backward itself is recorded, μ and σ are recomputed differentiably from x.
    /// </summary>
    public static Var LayerNorm(Var x, Var? weight, Var? bias, double eps = 1e-5, int normalizedAxes = 0)
    {
        int k = NormalizedAxes(x, weight, normalizedAxes);
        var value = Ops.LayerNorm(x.Value, k, weight?.Value, bias?.Value, eps, out var mean, out var rstd);
        BackwardRule rule = static (n, g) =>
        {
            var x = n.A;
            var w = n.Flag0 ? n.B : null;
            var axes = n.Ints!;
            Var xhat, rstd;
            if (Autograd.IsGradEnabled)
            {
                var centered = x - Mean(x, axes, keepDims: true);
                rstd = Rsqrt(Mean(Square(centered), axes, keepDims: true) + n.P0);
                xhat = centered * rstd;
            }
            else
            {
                rstd = new Var(n.Saved1!.Reshape(n.S0), null);
                using var mu = n.Saved0!.Reshape(n.S0);
                using var c = Ops.Sub(x.Value, mu);
                xhat = new Var(Ops.Mul(c, rstd.Value), null);
            }
            var leading = LeadingAxes(x.Rank, axes.Length);
            var gh = w is null ? g : g * w;
            var gx = n.Needs(0)
                ? rstd * (gh - Mean(gh, axes, keepDims: true) - xhat * Mean(gh * xhat, axes, keepDims: true))
                : null;
            Var? gw = w is not null && w.RequiresGrad ? SumLeading(g * xhat, leading, w.Shape) : null;
            var b = n.Flag1 ? (n.Flag0 ? n.C : n.B) : null;
            Var? gb = b is not null && b.RequiresGrad ? SumLeading(g, leading, b.Shape) : null;
            return n.Arity switch
            {
                1 => gx,
                2 => (gx, n.Flag0 ? gw : gb),
                _ => (gx, gw, gb),
            };
        };
        Var y;
        if (weight is not null && bias is not null) y = Record.Op("layer_norm", value, x, weight, bias, rule);
        else if (weight is not null) y = Record.Op("layer_norm", value, x, weight, rule);
        else if (bias is not null) y = Record.Op("layer_norm", value, x, bias, rule);
        else y = Record.Op("layer_norm", value, x, rule);

        if (y.Node is { } node)
        {
            node.Flag0 = weight is not null;
            node.Flag1 = bias is not null;
            node.P0 = eps;
            node.Ints = LastAxes(x.Rank, k);
            node.S0 = KeptShape(x.Shape, node.Ints, "layer_norm");
            node.Saved0 = mean;
            node.Saved1 = rstd;
        }
        else
        {
            mean.Dispose();
            rstd.Dispose();
        }
        return y;
    }

    /// <summary>
    /// Group norm of x [N, C, *]: statistics over each group of C/groups channels and all positions,
    /// then per-channel weight/bias [C]. Built on the fused layer norm of x viewed as [N, groups, rest].
    /// </summary>
    public static Var GroupNorm(Var x, int groups, Var? weight, Var? bias, double eps = 1e-5)
    {
        if (x.Rank < 2) throw new TensorShapeException($"F.GroupNorm: x must be [N, C, *], got {x.Shape}");
        int c = x.Shape[1];
        if (groups <= 0 || c % groups != 0) throw new TensorShapeException($"F.GroupNorm: {c} channels are not divisible into {groups} groups");
        var grouped = Reshape(x, x.Shape[0], groups, -1);
        var y = Reshape(LayerNorm(grouped, null, null, eps, normalizedAxes: 1), x.Shape);
        Span<int> channelShape = stackalloc int[x.Rank - 1];
        channelShape.Fill(1);
        channelShape[0] = c;
        var perChannel = new Shape(channelShape);
        if (weight is not null) y *= Reshape(weight, perChannel);
        if (bias is not null) y += Reshape(bias, perChannel);
        return y;
    }

    private static int NormalizedAxes(Var x, Var? weight, int normalizedAxes)
    {
        int k = normalizedAxes > 0 ? normalizedAxes : weight?.Rank ?? 1;
        if (k > x.Rank) throw new TensorShapeException($"F.LayerNorm: cannot normalize {k} axes of {x.Shape}");
        return k;
    }

    private static int[] LeadingAxes(int rank, int normalized)
    {
        var axes = new int[rank - normalized];
        for (int i = 0; i < axes.Length; i++) axes[i] = i;
        return axes;
    }

    /// <summary>Sum over the leading axes down to the parameter's shape (nothing to sum for rank-k x).</summary>
    private static Var SumLeading(Var v, int[] leading, in Shape shape) =>
        leading.Length == 0 ? Reshape(v, shape) : Reshape(Sum(v, leading), shape);
}
