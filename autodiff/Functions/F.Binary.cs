using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    // Binary primitives broadcast (NumPy rules); each input's gradient is summed back to its own shape.

    public static Var Add(Var a, Var b) => Record.Op("add", Ops.Add(a.Value, b.Value), a, b,
        static (n, g) => (n.Needs(0) ? SumTo(g, n.A.Shape) : null, n.Needs(1) ? SumTo(g, n.B.Shape) : null));

    public static Var Sub(Var a, Var b) => Record.Op("sub", Ops.Sub(a.Value, b.Value), a, b,
        static (n, g) => (n.Needs(0) ? SumTo(g, n.A.Shape) : null, n.Needs(1) ? SumTo(Neg(g), n.B.Shape) : null));

    public static Var Mul(Var a, Var b) => Record.Op("mul", Ops.Mul(a.Value, b.Value), a, b,
        static (n, g) => (n.Needs(0) ? SumTo(g * n.B, n.A.Shape) : null, n.Needs(1) ? SumTo(g * n.A, n.B.Shape) : null));

    /// <summary>a / b; d/da = 1/b, d/db = −y/b.</summary>
    public static Var Div(Var a, Var b) => Record.Op("div", Ops.Div(a.Value, b.Value), a, b,
        static (n, g) => (n.Needs(0) ? SumTo(g / n.B, n.A.Shape) : null, n.Needs(1) ? SumTo(-(g * n.Out / n.B), n.B.Shape) : null));

    /// <summary>a^b elementwise; d/da = b·a^(b−1), d/db = y·log a.</summary>
    public static Var Pow(Var a, Var b) => Record.Op("pow", Ops.Pow(a.Value, b.Value), a, b,
        static (n, g) => (n.Needs(0) ? SumTo(g * n.B * Pow(n.A, n.B - 1), n.A.Shape) : null,
                          n.Needs(1) ? SumTo(g * n.Out * Log(n.A), n.B.Shape) : null));

    /// <summary>Elementwise max; at ties the gradient goes to a.</summary>
    public static Var Maximum(Var a, Var b) => Record.Op("maximum", Ops.Maximum(a.Value, b.Value), a, b, static (n, g) =>
    {
        var pickA = Constant(Ops.GreaterEqual(n.A.Value, n.B.Value));
        return (n.Needs(0) ? SumTo(g * pickA, n.A.Shape) : null, n.Needs(1) ? SumTo(g * (1 - pickA), n.B.Shape) : null);
    });

    /// <summary>Elementwise min; at ties the gradient goes to a.</summary>
    public static Var Minimum(Var a, Var b) => Record.Op("minimum", Ops.Minimum(a.Value, b.Value), a, b, static (n, g) =>
    {
        var pickA = Constant(Ops.LessEqual(n.A.Value, n.B.Value));
        return (n.Needs(0) ? SumTo(g * pickA, n.A.Shape) : null, n.Needs(1) ? SumTo(g * (1 - pickA), n.B.Shape) : null);
    });

    /// <summary>condition ≠ 0 ? a : b (all broadcast); the condition is a constant.</summary>
    public static Var Where(Var condition, Var a, Var b)
    {
        var y = Record.Op("where", Ops.Where(condition.Value, a.Value, b.Value), a, b, static (n, g) =>
        {
            var cond = (Var)n.Extra!;
            var zero = Scalar(0, g);
            return (n.Needs(0) ? SumTo(Where(cond, g, zero), n.A.Shape) : null,
                    n.Needs(1) ? SumTo(Where(cond, zero, g), n.B.Shape) : null);
        });
        y.Node?.Extra = condition;
        return y;
    }

    public static Var Where(Tensor condition, Var a, Var b) => Where(new Var(condition), a, b);
}
