namespace DiffTori.Rl.Replay;

/// <summary>
/// A binary tree whose leaves hold non-negative weights and whose inner nodes hold the sums of their
/// children: setting a weight and drawing an index with probability weight/total both cost O(log n).
/// Leaves live at [size, 2·size) of one array, the root at 1.
/// </summary>
public sealed class SumTree
{
    private readonly double[] _nodes;
    private readonly int _size;

    public SumTree(int capacity)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), $"SumTree: capacity must be positive, got {capacity}");
        Capacity = capacity;
        _size = 1;
        while (_size < capacity) _size <<= 1;
        _nodes = new double[2 * _size];
    }

    public int Capacity { get; }
    public double Total => _nodes[1];
    public double this[int index] => _nodes[_size + index];

    public void Set(int index, double weight)
    {
        if ((uint)index >= (uint)Capacity) throw new ArgumentOutOfRangeException(nameof(index), $"SumTree.Set: index {index} outside [0, {Capacity})");
        if (!(weight >= 0) || double.IsInfinity(weight)) throw new ArgumentOutOfRangeException(nameof(weight), $"SumTree.Set: weight must be finite and ≥ 0, got {weight}");
        int node = _size + index;
        _nodes[node] = weight;
        // Recompute sums on the path to the root (recomputing, not adding deltas, keeps rounding from drifting).
        for (node >>= 1; node >= 1; node >>= 1) _nodes[node] = _nodes[2 * node] + _nodes[2 * node + 1];
    }

    /// <summary>The leaf whose cumulative-weight interval contains mass (0 ≤ mass &lt; Total).</summary>
    public int Find(double mass)
    {
        int node = 1;
        while (node < _size)
        {
            int left = 2 * node;
            if (mass < _nodes[left] || _nodes[left + 1] <= 0) node = left;
            else { mass -= _nodes[left]; node = left + 1; }
        }
        int index = node - _size;
        // Rounding can land on a zero-weight leaf at the far right; step back to the last positive one.
        while (index > 0 && _nodes[_size + index] <= 0) index--;
        return index;
    }

    public double[] Leaves() => _nodes.AsSpan(_size, Capacity).ToArray();

    public void LoadLeaves(ReadOnlySpan<double> weights)
    {
        if (weights.Length != Capacity) throw new ArgumentException($"SumTree.LoadLeaves: {weights.Length} weights for capacity {Capacity}");
        Array.Clear(_nodes);
        weights.CopyTo(_nodes.AsSpan(_size));
        for (int node = _size - 1; node >= 1; node--) _nodes[node] = _nodes[2 * node] + _nodes[2 * node + 1];
    }
}
