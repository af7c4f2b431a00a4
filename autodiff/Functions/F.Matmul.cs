using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    /// <summary>
    /// op(a)·op(b) with batch broadcasting (op = transpose of the last two axes when the flag is set).
    /// 1-D operands are promoted like numpy.matmul (a vector a is a row, a vector b a column).
    /// Rules: ∂a = g·op(b)ᵀ, ∂b = op(a)ᵀ·g, then transposed back when the operand was stored transposed
    /// and summed over broadcast batch axes.
    /// </summary>
    public static Var Matmul(Var a, Var b, bool transA = false, bool transB = false)
    {
        if (a.Rank == 1 || b.Rank == 1)
        {
            if (a.Rank == 0 || b.Rank == 0) throw new TensorShapeException($"F.Matmul: scalars are not matrices ({a.Shape} · {b.Shape})");
            var a2 = a.Rank == 1 ? Unsqueeze(a, 0) : a;
            var b2 = b.Rank == 1 ? Unsqueeze(b, -1) : b;
            var y2 = Matmul(a2, b2, a.Rank == 1 ? false : transA, b.Rank == 1 ? false : transB);
            if (b.Rank == 1) y2 = Squeeze(y2, -1);
            if (a.Rank == 1) y2 = Squeeze(y2, y2.Rank == 1 ? 0 : -2);
            return y2;
        }
        var y = Record.Op("matmul", Ops.Matmul(a.Value, b.Value, transA, transB), a, b, static (n, g) =>
        {
            bool ta = n.Flag0, tb = n.Flag1;
            Var? ga = null, gb = null;
            if (n.Needs(0))
                ga = SumTo(ta ? Matmul(n.B, g, tb, true) : Matmul(g, n.B, false, !tb), n.A.Shape);
            if (n.Needs(1))
                gb = SumTo(tb ? Matmul(g, n.A, true, ta) : Matmul(n.A, g, !ta, false), n.B.Shape);
            return (ga, gb);
        });
        if (y.Node is { } node) { node.Flag0 = transA; node.Flag1 = transB; }
        return y;
    }

    /// <summary>
    /// x·Wᵀ + b for x [..., in], weight [out, in], bias [out] or null (one fused engine call).
    /// Rules: ∂x = g·W, ∂W = gᵀ·x over all leading axes, ∂b = Σ g over leading axes.
    /// </summary>
    public static Var Linear(Var x, Var weight, Var? bias = null)
    {
        var value = Ops.Linear(x.Value, weight.Value, bias?.Value);
        BackwardRule rule = static (n, g) =>
        {
            var g2 = Reshape(g, -1, g.Shape[g.Rank - 1]);
            Var? gx = n.Needs(0) ? Matmul(g, n.B) : null;
            var x2 = Reshape(n.A, -1, n.A.Shape[n.A.Rank - 1]);
            Var? gw = null;
            // Plain backward into a parameter's existing Grad: one GEMM that adds gᵀ·x in place.
            if (n.Needs(1) && Backprop.DirectGradTarget(n.B, n.B.Shape, out double beta) is { } target)
                Ops.Matmul(g2.Value, x2.Value, target, transA: true, beta: beta);
            else if (n.Needs(1))
                gw = Matmul(g2, x2, transA: true);
            Var? gb = n.Arity == 3 && n.Needs(2) ? Sum(g2, 0) : null;
            return (gx, gw, gb);
        };
        return bias is null ? Record.Op("linear", value, x, weight, rule) : Record.Op("linear", value, x, weight, bias, rule);
    }

    /// <summary>Linear as a composite (Matmul then Add), for comparison with the fused form.</summary>
    public static Var LinearComposite(Var x, Var weight, Var? bias = null)
    {
        var y = Matmul(x, weight, transB: true);
        return bias is null ? y : y + bias;
    }
}
