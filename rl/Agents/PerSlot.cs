namespace DiffTori.Rl.Agents;

/// <summary>A value per environment slot (a planner's warm start), default until set; grows on demand.</summary>
public sealed class PerSlot<T> where T : class
{
    private readonly List<T?> _values = [];

    public T? this[int slot]
    {
        get => slot < _values.Count ? _values[slot] : null;
        set
        {
            while (_values.Count <= slot) _values.Add(null);
            _values[slot] = value;
        }
    }
}
