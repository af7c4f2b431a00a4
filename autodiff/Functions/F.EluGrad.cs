using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    /// <summary>
    /// ELU's backward as one differentiable op: g·elu'(x) = g where x &gt; 0, else g·(y + α), with y = elu(x).
    /// One pass forward; its own rule is two passes, where the composite (mask, add, mul, where) records
    /// four ops and runs their eight rules — this is what second-order training (a gradient penalty) pays.
    /// Rules: ∂g = EluGrad(gg, x, y) (the same mask product), ∂y = gg·g where x ≤ 0 (<see cref="EluGradY"/>);
    /// x gets none directly (the mask is piecewise constant): elu'' reaches x through y = elu(x).
    /// </summary>
    public static Var EluGrad(Var g, Var x, Var y, double alpha)
    {
        RequireSameShape("F.EluGrad", g, x, y);
        var value = ElementwiseKernels.EluGrad(g.Value, x.Value, y.Value, alpha);
        var r = Record.Op("elu_grad", value, g, x, y, static (n, gg) =>
            (n.Needs(0) ? EluGrad(gg, n.B, n.C, n.P0) : null, null, n.Needs(2) ? EluGradY(gg, n.A, n.B) : null));
        r.Node?.P0 = alpha;
        return r;
    }

    /// <summary>
    /// a·b where x ≤ 0, else 0: the part of ELU's second derivative that flows to y (see <see cref="EluGrad"/>).
    /// Rules: ∂a = EluGradY(h, b, x), ∂b = EluGradY(h, a, x); x gets none (piecewise constant mask).
    /// </summary>
    public static Var EluGradY(Var a, Var b, Var x)
    {
        RequireSameShape("F.EluGradY", a, b, x);
        var value = ElementwiseKernels.ProductWhereNotPositive(a.Value, b.Value, x.Value);
        return Record.Op("elu_grad_y", value, a, b, x, static (n, h) =>
            (n.Needs(0) ? EluGradY(h, n.B, n.C) : null, n.Needs(1) ? EluGradY(h, n.A, n.C) : null, null));
    }

    private static void RequireSameShape(string op, Var a, Var b, Var c)
    {
        if (a.Shape != b.Shape || a.Shape != c.Shape)
            throw new TensorShapeException($"{op}: the three operands must have one shape, got {a.Shape}, {b.Shape}, {c.Shape}");
        if (a.DType != b.DType || a.DType != c.DType)
            throw new ArgumentException($"{op}: the three operands must have one dtype, got {a.DType.Name()}, {b.DType.Name()}, {c.DType.Name()}");
    }
}
