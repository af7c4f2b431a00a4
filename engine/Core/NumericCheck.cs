namespace DiffTori.Engine;

/// <summary>
/// Opt-in detection of NaN and infinity: when enabled, every op scans its result and throws a
/// <see cref="NonFiniteException"/> naming the first op that produced a non-finite value.
/// Off by default because the scan costs a pass over memory.
/// </summary>
public static class NumericCheck
{
    private static bool _enabled = Environment.GetEnvironmentVariable("DIFFTORI_CHECK_NUMERICS") == "1";

    /// <summary>Scopes open on this thread: a scope checks the ops its thread calls, not other threads' ops.</summary>
    [ThreadStatic] private static int _scopes;

    /// <summary>The process-wide switch (also set by DIFFTORI_CHECK_NUMERICS=1).</summary>
    public static bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>
    /// Enable the check for a block on this thread: <c>using (NumericCheck.Scope()) { ... }</c>. Ops report on the
    /// thread that called them, so the block's ops are all checked, and other threads (a test running beside it)
    /// are not.
    /// </summary>
    public static IDisposable Scope() => new EnabledScope();

    /// <summary>Called by ops on their result; free when the check is off.</summary>
    public static void After(string op, Tensor result)
    {
        if ((_enabled || _scopes > 0) && result.DType.IsFloatingPoint()) Scan(op, result);
    }

    private static void Scan(string op, Tensor result)
    {
        var values = result.ToDoubleArray();
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
                throw new NonFiniteException(
                    $"{op} produced {values[i]} at flat index {i} of its {result.DType.Name()} result of shape {result.Shape}");
        }
    }

    private sealed class EnabledScope : IDisposable
    {
        private bool _open = true;
        public EnabledScope() => _scopes++;

        public void Dispose()
        {
            if (!_open) return;
            _open = false;
            _scopes--;
        }
    }
}
