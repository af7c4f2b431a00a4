using DiffTori.Engine;

namespace DiffTori.Rl.Agents;

/// <summary>
/// One random stream per environment slot, so that what an agent draws while acting for environment i
/// (planner samples, policy noise, exploration noise, seed-step random actions) never depends on how
/// many other environments act in the same batch: acting on B environments at once draws exactly what
/// B separate single-environment calls draw. Slot 0 is the agent's own generator (the one its updates
/// also use), so single-environment acting draws what it always did; slot i ≥ 1 is the fork
/// <c>Fork(i)</c> of it, created on first use. The fork counters are part of a checkpoint.
/// </summary>
public sealed class EnvStreams(RandomGenerator main)
{
    private readonly List<RandomGenerator> _forks = []; // slot i lives at index i − 1

    public RandomGenerator Main { get; } = main;

    /// <summary>Slots created so far (at least 1: slot 0 always exists).</summary>
    public int Count => 1 + _forks.Count;

    public RandomGenerator this[int slot]
    {
        get
        {
            if (slot < 0) throw new ArgumentOutOfRangeException(nameof(slot), $"EnvStreams: environment slot must be ≥ 0, got {slot}");
            if (slot == 0) return Main;
            while (_forks.Count < slot) _forks.Add(Main.Fork((ulong)(_forks.Count + 1)));
            return _forks[slot - 1];
        }
    }

    /// <summary>The counters of slots 1, 2, … (slot 0's counter is the agent's own, saved separately).</summary>
    public ulong[] ForkCounters() => _forks.Select(f => f.Counter).ToArray();

    /// <summary>Restore the counters saved by <see cref="ForkCounters"/>; slots beyond them start fresh.</summary>
    public void RestoreForkCounters(ReadOnlySpan<ulong> counters)
    {
        _forks.Clear();
        for (int i = 0; i < counters.Length; i++) this[i + 1].Counter = counters[i];
    }

    /// <summary>
    /// Normal(0, std) noise [B·rowsPerEnv, columns] whose block of rows b comes from the stream of slot
    /// envs[b] (one draw of rowsPerEnv·columns numbers per slot, as a single-environment call would make).
    /// </summary>
    public Tensor Normal(ReadOnlySpan<int> envs, int rowsPerEnv, int columns, double std, DType dtype, Device device)
    {
        var noise = Tensor.Empty(new Shape(envs.Length * rowsPerEnv, columns), dtype, device);
        for (int b = 0; b < envs.Length; b++)
        {
            using var block = noise.Narrow(0, b * rowsPerEnv, rowsPerEnv);
            Ops.FillNormal(block, this[envs[b]], 0, std);
        }
        return noise;
    }

    /// <summary>Check a batch's slots: B ≥ 1, each ≥ 0 and none twice (each slot holds one environment's warm start).</summary>
    public static void CheckSlots(string caller, ReadOnlySpan<int> envs, int observationValues, int observationDim)
    {
        if (envs.Length == 0) throw new ArgumentException($"{caller}: the batch is empty (no environment slots)");
        if (observationValues != envs.Length * observationDim)
            throw new ArgumentException($"{caller}: {observationValues} observation values for {envs.Length} environments of dimension {observationDim} (expected {envs.Length * observationDim})");
        for (int i = 0; i < envs.Length; i++)
        {
            if (envs[i] < 0) throw new ArgumentException($"{caller}: environment slot {envs[i]} at batch row {i} is negative");
            for (int j = 0; j < i; j++)
                if (envs[j] == envs[i]) throw new ArgumentException($"{caller}: environment slot {envs[i]} appears twice in one batch (rows {j} and {i})");
        }
    }
}
