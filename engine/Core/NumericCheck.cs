namespace DiffTori.Engine;

/// <summary>
/// Opt-in detection of NaN and infinity: when enabled, every op scans its result and throws a
/// <see cref="NonFiniteException"/> naming the first op that produced a non-finite value.
/// Off by default because the scan costs a pass over memory.
/// </summary>
public static class NumericCheck
{
    private static bool _enabled = Environment.GetEnvironmentVariable("DIFFTORI_CHECK_NUMERICS") == "1";

    public static bool Enabled
    {
        get => _enabled;
        set => _enabled = value;
    }

    /// <summary>Enable the check for a block: <c>using (NumericCheck.Scope()) { ... }</c>.</summary>
    public static IDisposable Scope() => new EnabledScope();

    /// <summary>Called by ops on their result; free when the check is off.</summary>
    public static void After(string op, Tensor result)
    {
        if (_enabled && result.DType.IsFloatingPoint()) Scan(op, result);
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
        private readonly bool _previous = _enabled;
        public EnabledScope() => _enabled = true;
        public void Dispose() => _enabled = _previous;
    }
}
