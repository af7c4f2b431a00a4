using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// A backward rule: given the node (its inputs, output and saved values) and the gradient of the
/// output, return the gradient of each input (null where none flows). Rules are written with
/// <see cref="F"/> ops, so when the backward pass records (createGraph) they are differentiable too.
/// A rule returns either the incoming gradient itself or fresh Vars, never a Var it did not create.
/// </summary>
public delegate Grads BackwardRule(Node node, Var grad);

/// <summary>
/// One recorded op: its name, its inputs, its output, what its rule needs from the forward pass and
/// the rule itself. The fields P*, S*, I*, Saved* hold op-specific values (each op says which it uses)
/// so recording costs one object and no closure.
/// </summary>
public sealed class Node
{
    internal Node(string op, BackwardRule rule, int arity, Var? a, Var? b, Var? c, Var[]? many)
    {
        Op = op;
        Rule = rule;
        Arity = arity;
        A = a!;
        B = b!;
        C = c!;
        Many = many;
    }

    /// <summary>The op's name, for messages and graph dumps.</summary>
    public string Op { get; }

    internal BackwardRule? Rule;

    /// <summary>Number of inputs.</summary>
    public int Arity { get; }

    /// <summary>First, second and third inputs (unused ones are null).</summary>
    public Var A { get; private set; }
    public Var B { get; private set; }
    public Var C { get; private set; }

    /// <summary>All inputs, for ops with more than three (Concat, Stack).</summary>
    public Var[]? Many { get; private set; }

    /// <summary>The Var this node produced.</summary>
    public Var Out { get; internal set; } = null!;

    // Op-specific values saved by the forward pass.
    public double P0, P1;
    public int I0, I1, I2, I3;
    public bool Flag0, Flag1;
    public Shape S0, S1;
    public int[]? Ints;
    public object? Extra;

    /// <summary>Tensors that only the backward needs (e.g. argmax, mean/rstd); disposed when the graph is released.</summary>
    public Tensor? Saved0, Saved1;

    public bool IsReleased { get; private set; }

    public Var Input(int i) => Many is not null ? Many[i] : i switch { 0 => A, 1 => B, _ => C };

    /// <summary>
    /// True when input i wants a gradient: it requires one and, while a backward pass runs, lies on a path to
    /// what that pass computes (lets a rule skip work for constants and for inputs the pass would drop).
    /// </summary>
    public bool Needs(int i)
    {
        var input = Input(i);
        return input.RequiresGrad && Backprop.Wants(input);
    }

    /// <summary>Free what the backward needed: saved buffers and the links to the inputs, so the graph above can be collected.</summary>
    internal void Release()
    {
        if (IsReleased) return;
        IsReleased = true;
        Rule = null;
        Saved0?.Dispose();
        Saved1?.Dispose();
        Saved0 = Saved1 = null;
        A = B = C = null!;
        Many = null;
        Extra = null;
        Ints = null;
    }

    public override string ToString() => $"{Op}({Arity} inputs{(IsReleased ? ", released" : "")})";
}

/// <summary>The gradients a rule returns: up to three inline (no allocation), or an array for many inputs.</summary>
public readonly struct Grads
{
    public readonly Var? G0, G1, G2;
    public readonly Var?[]? Many;

    public Grads(Var? g0, Var? g1 = null, Var? g2 = null)
    {
        G0 = g0;
        G1 = g1;
        G2 = g2;
        Many = null;
    }

    private Grads(Var?[] many)
    {
        G0 = G1 = G2 = null;
        Many = many;
    }

    public static Grads Of(Var?[] many) => new(many);

    public Var? this[int i] => Many is not null ? Many[i] : i switch { 0 => G0, 1 => G1, _ => G2 };

    public static implicit operator Grads(Var? g) => new(g);
    public static implicit operator Grads((Var?, Var?) g) => new(g.Item1, g.Item2);
    public static implicit operator Grads((Var?, Var?, Var?) g) => new(g.Item1, g.Item2, g.Item3);
}
