namespace DiffTori.Autodiff;

public static partial class Autograd
{
    [ThreadStatic] private static bool _disabled;

    /// <summary>Whether ops on this thread record the graph (false inside <see cref="NoGrad"/>).</summary>
    public static bool IsGradEnabled => !_disabled;

    /// <summary>
    /// Within <c>using (Autograd.NoGrad()) { ... }</c> ops record nothing: no nodes, no saved buffers.
    /// Use it for inference, target networks and optimizer updates. Scopes nest.
    /// </summary>
    public static IDisposable NoGrad() => new ModeScope(disabled: true);

    /// <summary>Turn recording back on inside a no-grad region (the backward pass uses this for createGraph).</summary>
    public static IDisposable EnableGrad() => new ModeScope(disabled: false);

    internal static bool SetDisabled(bool disabled)
    {
        bool previous = _disabled;
        _disabled = disabled;
        return previous;
    }

    private sealed class ModeScope : IDisposable
    {
        private readonly bool _previous;
        private bool _done;

        public ModeScope(bool disabled) => _previous = SetDisabled(disabled);

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _disabled = _previous;
        }
    }
}
