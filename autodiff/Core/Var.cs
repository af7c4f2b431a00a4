using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// A tensor that takes part in differentiation. An op on Vars (see <see cref="F"/>) computes its
/// value with the engine and, when gradients are being recorded, remembers the <see cref="Node"/>
/// that made it, so <see cref="Backward"/> can walk the graph back to the leaves.
/// </summary>
public class Var
{
    private bool _requiresGrad;
    private List<Func<Var, Var>>? _hooks;

    // Bookkeeping used only by the backward pass (see Backprop); stamped with the pass's epoch.
    internal int VisitEpoch;
    internal bool Relevant;
    internal Var? PendingGrad;
    internal int CaptureEpoch;
    internal int CaptureIndex;
    internal int GradEpoch;
    internal bool GradOwned;
    internal TensorScope? Scope;

    /// <summary>A leaf: a constant (requiresGrad false) or a parameter/input to differentiate with respect to.</summary>
    public Var(Tensor value, bool requiresGrad = false, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (requiresGrad && !value.DType.IsFloatingPoint())
            throw new ArgumentException($"Var '{name}': only float tensors can require gradients, got {value.DType.Name()} {value.Shape}");
        Value = value;
        _requiresGrad = requiresGrad;
        Name = name;
    }

    /// <summary>The result of an op; node is null when nothing was recorded.</summary>
    internal Var(Tensor value, Node? node)
    {
        Value = value;
        Node = node;
        _requiresGrad = node is not null;
        if (node is not null) node.Out = this;
        TensorScope.Track(this);
    }

    /// <summary>The data.</summary>
    public Tensor Value { get; }

    /// <summary>Accumulated gradient (leaves only), itself a Var so that it can be differentiated again after <c>createGraph</c>.</summary>
    public Var? Grad
    {
        get
        {
            if (_gradZeroPending) MaterializeZeroGrad();
            return _grad;
        }
        set
        {
            _grad = value;
            GradOwned = false;
            _gradZeroPending = false;
        }
    }
    private Var? _grad;
    private bool _gradZeroPending;

    /// <summary>Grad without materializing a pending zero (backward and ZeroGrad use it).</summary>
    internal Var? GradRaw => _grad;

    /// <summary>
    /// ZeroGrad of a Grad that backward allocated only marks it: the next backward pass overwrites it
    /// instead of adding (saving a fill and a read), and any other reader of <see cref="Grad"/> sees zeros.
    /// </summary>
    internal bool GradZeroPending
    {
        get => _gradZeroPending;
        set => _gradZeroPending = value && _grad is not null;
    }

    private void MaterializeZeroGrad()
    {
        _gradZeroPending = false;
        var t = _grad!.Value;
        t.Device.Backend.Fill(t, 0);
    }

    /// <summary>True for leaves marked as trainable and for every op result that depends on one (while recording).</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (Node is not null)
                throw new InvalidOperationException($"RequiresGrad can only be set on a leaf; '{Name ?? Node.Op}' is the result of {Node.Op} (use Detach() first)");
            if (value && !Value.DType.IsFloatingPoint())
                throw new ArgumentException($"Var '{Name}': only float tensors can require gradients, got {Value.DType.Name()}");
            _requiresGrad = value;
        }
    }

    public string? Name { get; set; }

    /// <summary>The op that produced this Var (null for leaves and for results computed without recording).</summary>
    public Node? Node { get; internal set; }

    public bool IsLeaf => Node is null;
    public Shape Shape => Value.Shape;
    public DType DType => Value.DType;
    public Device Device => Value.Device;
    public int Rank => Value.Rank;
    public int Length => Value.Length;

    /// <summary>The single value of a one-element Var.</summary>
    public double Item() => Value.Item();

    /// <summary>
    /// Reverse-mode differentiation from this Var. seed defaults to ones (so a scalar loss needs none).
    /// Gradients are added into <see cref="Grad"/> of every leaf that requires them. Unless retainGraph
    /// (or createGraph, which implies it) the graph's saved buffers are released afterwards.
    /// createGraph records the backward computation itself, so the gradients can be differentiated again.
    /// </summary>
    public void Backward(Var? seed = null, bool retainGraph = false, bool createGraph = false) =>
        Backprop.Backward(this, seed, retainGraph || createGraph, createGraph);

    /// <summary>The same values (a view, no copy), cut from the graph (never requires a gradient).</summary>
    public Var Detach() => new(Value.Expand(Value.Shape), null) { Name = Name };

    /// <summary>
    /// Run hook on this Var's gradient once it is complete, before it flows further (or into Grad for a leaf);
    /// the hook's result replaces the gradient. Dispose the returned handle to remove the hook.
    /// </summary>
    public IDisposable RegisterHook(Func<Var, Var> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (_hooks ??= new List<Func<Var, Var>>(1)).Add(hook);
        return new HookHandle(this, hook);
    }

    internal bool HasHooks => _hooks is { Count: > 0 };

    internal Var ApplyHooks(Var grad)
    {
        var hooks = _hooks!;
        for (int i = 0; i < hooks.Count; i++)
        {
            grad = hooks[i](grad) ?? throw new InvalidOperationException($"a gradient hook on '{Name}' returned null");
            if (grad.Shape != Shape)
                throw new TensorShapeException($"a gradient hook on '{Name}' returned shape {grad.Shape}, expected {Shape}");
        }
        return grad;
    }

    private sealed class HookHandle(Var owner, Func<Var, Var> hook) : IDisposable
    {
        public void Dispose() => owner._hooks?.Remove(hook);
    }

    public override string ToString() =>
        $"Var({(Name is null ? "" : Name + ", ")}{Value}{(RequiresGrad ? ", requires_grad" : "")}{(Node is null ? "" : ", op=" + Node.Op)})";

    // ----- operators (each is one F call) -----
    public static Var operator +(Var a, Var b) => F.Add(a, b);
    public static Var operator -(Var a, Var b) => F.Sub(a, b);
    public static Var operator *(Var a, Var b) => F.Mul(a, b);
    public static Var operator /(Var a, Var b) => F.Div(a, b);
    public static Var operator +(Var a, double c) => F.Affine(a, 1, c);
    public static Var operator +(double c, Var a) => F.Affine(a, 1, c);
    public static Var operator -(Var a, double c) => F.Affine(a, 1, -c);
    public static Var operator -(double c, Var a) => F.Affine(a, -1, c);
    public static Var operator *(Var a, double c) => F.Affine(a, c, 0);
    public static Var operator *(double c, Var a) => F.Affine(a, c, 0);
    public static Var operator /(Var a, double c) => F.Affine(a, 1 / c, 0);
    public static Var operator /(double c, Var a) => F.DivScalarBy(c, a);
    public static Var operator -(Var a) => F.Neg(a);
}
