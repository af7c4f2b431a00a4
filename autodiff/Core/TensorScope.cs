using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// Returns every buffer made by ops inside it to the pool when it ends, so a training or planning
/// loop that wraps each step in <c>using (Autograd.Scope()) { forward; backward; update }</c> runs in
/// steady state without new arrays. Without a scope, results are simply left to the GC.
/// Leaf gradients (Var.Grad written by Backward) always survive; anything else to be used after the
/// scope (a loss to log, a Grad result) must be passed to <see cref="Keep"/>, which hands it to the
/// enclosing scope, or to none. Scopes nest; each thread has its own.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;

    private readonly TensorScope? _parent;
    private readonly List<Var> _owned = new(64);
    private bool _disposed;

    internal TensorScope()
    {
        _parent = _current;
        _current = this;
    }

    /// <summary>The innermost open scope of this thread, if any.</summary>
    public static TensorScope? Current => _current;

    /// <summary>Called for every Var an op creates.</summary>
    internal static void Track(Var v)
    {
        var scope = _current;
        if (scope is null) return;
        v.Scope = scope;
        scope._owned.Add(v);
    }

    /// <summary>Let v outlive this scope (it then belongs to the enclosing scope, or to no scope).</summary>
    public Var Keep(Var v)
    {
        if (v.Scope != this) return v;
        v.Scope = _parent;
        _parent?._owned.Add(v);
        return v;
    }

    /// <summary>Stop tracking v anywhere (used for leaf gradients).</summary>
    internal static void Release(Var v) => v.Scope = null;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current == this) _current = _parent;
        foreach (var v in _owned)
            if (v.Scope == this) v.Value.Dispose();
        _owned.Clear();
    }
}

public static partial class Autograd
{
    /// <summary>Open a <see cref="TensorScope"/>: the buffers of ops run inside it go back to the pool when it is disposed.</summary>
    public static TensorScope Scope() => new();
}
