using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// Wraps an op's forward result in a Var and, only when recording is on and some input requires a
/// gradient, attaches a Node with the rule. In a no-grad scope this is one allocation (the Var).
/// </summary>
internal static class Record
{
    public static Var Op(string op, Tensor y, Var a, BackwardRule rule) =>
        Autograd.IsGradEnabled && a.RequiresGrad
            ? new Var(y, new Node(op, rule, 1, a, null, null, null))
            : new Var(y, null);

    public static Var Op(string op, Tensor y, Var a, Var b, BackwardRule rule) =>
        Autograd.IsGradEnabled && (a.RequiresGrad || b.RequiresGrad)
            ? new Var(y, new Node(op, rule, 2, a, b, null, null))
            : new Var(y, null);

    public static Var Op(string op, Tensor y, Var a, Var b, Var c, BackwardRule rule) =>
        Autograd.IsGradEnabled && (a.RequiresGrad || b.RequiresGrad || c.RequiresGrad)
            ? new Var(y, new Node(op, rule, 3, a, b, c, null))
            : new Var(y, null);

    public static Var Op(string op, Tensor y, Var[] inputs, BackwardRule rule)
    {
        if (Autograd.IsGradEnabled)
        {
            foreach (var v in inputs)
                if (v.RequiresGrad) return new Var(y, new Node(op, rule, inputs.Length, null, null, null, inputs));
        }
        return new Var(y, null);
    }

    /// <summary>A constant (no gradient) wrapping a tensor the caller owns.</summary>
    public static Var Constant(Tensor t) => new(t, null);
}
