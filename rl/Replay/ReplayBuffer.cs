using DiffTori.Engine;

namespace DiffTori.Rl.Replay;

/// <summary>
/// Transitions stored as whole episodes in a ring; a sample is a batch of sub-trajectories of
/// <see cref="Window"/> consecutive steps from one episode (TD-MPC trains on horizon-length windows;
/// SAC uses Window = 1). Prioritized replay (Schaul et al.) keeps p^α per start slot in a
/// <see cref="SumTree"/>; slots whose window would leave their episode have weight 0 and are never drawn.
/// New slots get the largest priority seen so far. Uniform replay is the same tree with weights 1.
/// </summary>
public sealed partial class ReplayBuffer
{
    private readonly float[] _obs, _nextObs, _actions, _rewards;
    private readonly byte[] _terminal;
    private readonly bool[] _validStart;
    private readonly SumTree _tree;
    private double _maxPriority = 1;

    public ReplayBuffer(int observationDim, int actionDim, int capacity, int window, bool prioritized, double alpha = 0.6, double beta = 0.4)
    {
        if (observationDim <= 0 || actionDim <= 0 || capacity <= 0 || window <= 0)
            throw new ArgumentException($"ReplayBuffer: dimensions, capacity and window must be positive (obs {observationDim}, act {actionDim}, capacity {capacity}, window {window})");
        ObservationDim = observationDim;
        ActionDim = actionDim;
        Capacity = capacity;
        Window = window;
        Prioritized = prioritized;
        Alpha = alpha;
        Beta = beta;
        _obs = new float[(long)capacity * observationDim];
        _nextObs = new float[(long)capacity * observationDim];
        _actions = new float[(long)capacity * actionDim];
        _rewards = new float[capacity];
        _terminal = new byte[capacity];
        _validStart = new bool[capacity];
        _tree = new SumTree(capacity);
    }

    public int ObservationDim { get; }
    public int ActionDim { get; }
    public int Capacity { get; }
    public int Window { get; }
    public bool Prioritized { get; }
    public double Alpha { get; }
    public double Beta { get; }
    /// <summary>Slots filled so far (at most Capacity).</summary>
    public int Count { get; private set; }
    /// <summary>Next slot to write.</summary>
    public int Position { get; private set; }
    public long TotalAdded { get; private set; }
    public SumTree Tree => _tree;

    /// <summary>
    /// Append one episode: observations [L+1][obs], actions [L][act], rewards [L]; terminated means the
    /// last step ended the task (no bootstrap after it).
    /// </summary>
    public void AddEpisode(IReadOnlyList<double[]> observations, IReadOnlyList<double[]> actions, IReadOnlyList<double> rewards, bool terminated)
    {
        int length = actions.Count;
        if (observations.Count != length + 1 || rewards.Count != length)
            throw new ArgumentException($"ReplayBuffer.AddEpisode: need L+1 observations, L actions and L rewards; got {observations.Count}, {length}, {rewards.Count}");
        if (length > Capacity)
            throw new ArgumentException($"ReplayBuffer.AddEpisode: an episode of {length} steps does not fit a capacity of {Capacity}");
        for (int t = 0; t < length; t++)
        {
            int slot = Position;
            Copy(observations[t], _obs, slot, ObservationDim, "observation");
            Copy(observations[t + 1], _nextObs, slot, ObservationDim, "observation");
            Copy(actions[t], _actions, slot, ActionDim, "action");
            _rewards[slot] = (float)rewards[t];
            _terminal[slot] = (byte)(terminated && t == length - 1 ? 1 : 0);
            _validStart[slot] = t + Window <= length;
            _tree.Set(slot, _validStart[slot] ? (Prioritized ? Math.Pow(_maxPriority, Alpha) : 1.0) : 0.0);
            Position = (Position + 1) % Capacity;
            if (Count < Capacity) Count++;
            TotalAdded++;
        }
    }

    private static void Copy(double[] source, float[] target, int slot, int dim, string what)
    {
        if (source.Length != dim) throw new ArgumentException($"ReplayBuffer.AddEpisode: {what} of length {source.Length}, expected {dim}");
        int offset = slot * dim;
        for (int i = 0; i < dim; i++) target[offset + i] = (float)source[i];
    }

    /// <summary>Number of slots that can start a window.</summary>
    public int ValidStarts
    {
        get { int n = 0; for (int i = 0; i < Count; i++) if (_validStart[i]) n++; return n; }
    }

    /// <summary>
    /// Draw batchSize windows (independently, with replacement) with probability ∝ weight. Returns
    /// time-major arrays: observations [W+1, B, obs], actions [W, B, act], rewards and terminals [W, B],
    /// importance weights [B] ((N·P)^-β normalized by the batch maximum; ones for uniform replay).
    /// </summary>
    public ReplayBatch Sample(int batchSize, RandomGenerator rng)
    {
        if (_tree.Total <= 0)
            throw new InvalidOperationException($"ReplayBuffer.Sample: no window of {Window} steps stored yet ({Count} transitions)");
        var batch = new ReplayBatch(Window, batchSize, ObservationDim, ActionDim);
        double total = _tree.Total;
        int valid = ValidStarts;
        double maxWeight = 0;
        for (int b = 0; b < batchSize; b++)
        {
            int start = _tree.Find(rng.NextDouble() * total);
            batch.Indices[b] = start;
            double p = _tree[start] / total;
            batch.Weights[b] = Prioritized ? Math.Pow(valid * p, -Beta) : 1.0;
            maxWeight = Math.Max(maxWeight, batch.Weights[b]);
            for (int t = 0; t < Window; t++)
            {
                int slot = (start + t) % Capacity;
                Array.Copy(_obs, slot * ObservationDim, batch.Observations, ((long)t * batchSize + b) * ObservationDim, ObservationDim);
                Array.Copy(_actions, slot * ActionDim, batch.Actions, ((long)t * batchSize + b) * ActionDim, ActionDim);
                batch.Rewards[t * batchSize + b] = _rewards[slot];
                batch.Terminals[t * batchSize + b] = _terminal[slot];
                if (t == Window - 1)
                    Array.Copy(_nextObs, slot * ObservationDim, batch.Observations, ((long)(t + 1) * batchSize + b) * ObservationDim, ObservationDim);
            }
        }
        if (Prioritized)
            for (int b = 0; b < batchSize; b++) batch.Weights[b] /= maxWeight;
        return batch;
    }

    /// <summary>Set new raw priorities (e.g. TD errors) for the windows that started at indices.</summary>
    public void UpdatePriorities(ReadOnlySpan<int> indices, ReadOnlySpan<double> priorities)
    {
        if (!Prioritized) return;
        if (indices.Length != priorities.Length)
            throw new ArgumentException($"ReplayBuffer.UpdatePriorities: {indices.Length} indices but {priorities.Length} priorities");
        for (int i = 0; i < indices.Length; i++)
        {
            double p = priorities[i];
            if (!double.IsFinite(p) || p < 0) throw new ArgumentException($"ReplayBuffer.UpdatePriorities: priority {p} at slot {indices[i]} is not a finite non-negative number");
            p += 1e-6; // never exactly zero: every valid window stays drawable
            if (!_validStart[indices[i]]) continue;
            _maxPriority = Math.Max(_maxPriority, p);
            _tree.Set(indices[i], Math.Pow(p, Alpha));
        }
    }
}

/// <summary>A sampled batch of windows, time-major (see <see cref="ReplayBuffer.Sample"/>).</summary>
public sealed class ReplayBatch(int window, int batchSize, int observationDim, int actionDim)
{
    public int Window { get; } = window;
    public int BatchSize { get; } = batchSize;
    public int ObservationDim { get; } = observationDim;
    public int ActionDim { get; } = actionDim;
    public float[] Observations { get; } = new float[(long)(window + 1) * batchSize * observationDim];
    public float[] Actions { get; } = new float[(long)window * batchSize * actionDim];
    public float[] Rewards { get; } = new float[window * batchSize];
    public float[] Terminals { get; } = new float[window * batchSize];
    public double[] Weights { get; } = new double[batchSize];
    public int[] Indices { get; } = new int[batchSize];
}
