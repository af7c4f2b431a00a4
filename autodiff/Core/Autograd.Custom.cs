using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class Autograd
{
    /// <summary>
    /// Record a one-input op computed outside this library (e.g. a fused solver kernel): value is its result,
    /// rule its backward. Write the rule with Var ops (or other recorded ops, such as the op's own transpose),
    /// so that a backward pass with createGraph can differentiate it again. Nothing is recorded when grad
    /// recording is off or the input needs no gradient.
    /// </summary>
    public static Var RecordOp(string op, Tensor value, Var input, BackwardRule rule)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(rule);
        return Record.Op(op, value, input, rule);
    }

    /// <summary>
    /// Record an op of several inputs computed outside this library: rule returns one gradient per input
    /// (<see cref="Grads.Of"/>, null where <see cref="Node.Needs"/> is false or none arrives). Nothing is recorded
    /// when grad recording is off or no input needs a gradient.
    /// </summary>
    public static Var RecordOp(string op, Tensor value, IReadOnlyList<Var> inputs, BackwardRule rule)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(rule);
        if (inputs.Count == 0) throw new ArgumentException($"Autograd.RecordOp({op}): no inputs");
        return Record.Op(op, value, [.. inputs], rule);
    }
}
