using DiffTori.Engine;

namespace DiffTori.Envs.Vector;

/// <summary>
/// N copies of one task stepped together. Observations come back as one flat row-major array [N × obs].
/// Copy i is reset with seed (seed + i); with auto-reset, a copy whose episode ended is reset at once with a
/// seed derived from (seed, i, episode index), its last observation kept in <see cref="FinalObservations"/>.
/// Results depend only on the seeds, never on thread scheduling. Buffers are reused between steps.
/// Stepping on several cores only pays when one batch step costs far more than a thread hand-off (managed
/// tasks take well under a microsecond per copy), so <see cref="StepMode.Auto"/> times the first serial steps
/// and switches to parallel only for expensive tasks.
/// </summary>
public sealed class VectorEnv : IDisposable
{
    readonly IEnv[] _envs;
    readonly int[] _episodeIndex;
    readonly double[] _actionBuffer;
    readonly Action<int> _stepChunk;
    int _chunks;
    int _baseSeed;
    bool _started;

    /// <summary>How copies are stepped.</summary>
    public enum StepMode { Auto, Serial, Parallel }

    /// <summary>Auto goes parallel when a serial batch step takes longer than this.</summary>
    public static readonly TimeSpan ParallelThreshold = TimeSpan.FromMicroseconds(200);
    const int AutoWarmupSteps = 2, AutoProbeSteps = 10;
    int _probedSteps;
    long _fastestTicks = long.MaxValue;

    public VectorEnv(Func<int, IEnv> factory, int count, bool autoReset = true, StepMode mode = StepMode.Auto)
    {
        if (count < 1) throw new ArgumentException($"VectorEnv: count must be >= 1, got {count}.");
        _envs = new IEnv[count];
        for (int i = 0; i < count; i++) _envs[i] = factory(i);
        ObservationDimension = _envs[0].ObservationSpace.Dimension;
        ActionDimension = _envs[0].ActionSpace.Dimension;
        for (int i = 1; i < count; i++)
        {
            if (_envs[i].ObservationSpace.Dimension != ObservationDimension || _envs[i].ActionSpace.Dimension != ActionDimension)
                throw new ArgumentException($"VectorEnv: copy {i} ({_envs[i].Name}) has different spaces from copy 0 ({_envs[0].Name}).");
        }
        Count = count;
        AutoReset = autoReset;
        Mode = mode;
        UsesParallel = mode == StepMode.Parallel && count > 1;
        _episodeIndex = new int[count];
        Observations = new double[count * ObservationDimension];
        FinalObservations = new double[count * ObservationDimension];
        Rewards = new double[count];
        Terminated = new bool[count];
        Truncated = new bool[count];
        WasReset = new bool[count];
        _actionBuffer = new double[count * ActionDimension];
        _stepChunk = StepChunk;
    }

    /// <summary>N copies of a registered task (<see cref="EnvRegistry.Make"/> arguments apply to each).</summary>
    public static VectorEnv Make(string name, int count, int? actionRepeat = 1, bool autoReset = true, StepMode mode = StepMode.Auto, string? backend = null) =>
        new(_ => EnvRegistry.Make(name, actionRepeat, backend: backend), count, autoReset, mode);

    public int Count { get; }
    public int ObservationDimension { get; }
    public int ActionDimension { get; }
    public bool AutoReset { get; }

    public StepMode Mode { get; }

    /// <summary>Whether steps currently run on several cores (fixed for Serial/Parallel, decided after a few steps for Auto).</summary>
    public bool UsesParallel { get; private set; }

    public IEnv this[int index] => _envs[index];

    /// <summary>[N × obs]: the current observation of every copy (after auto-reset: the new episode's first).</summary>
    public double[] Observations { get; }

    /// <summary>[N × obs]: for copies with <see cref="WasReset"/>, the last observation of the finished episode.</summary>
    public double[] FinalObservations { get; }

    public double[] Rewards { get; }
    public bool[] Terminated { get; }
    public bool[] Truncated { get; }

    /// <summary>Copies auto-reset during the last step.</summary>
    public bool[] WasReset { get; }

    public double[] Reset(int seed)
    {
        _baseSeed = seed;
        for (int i = 0; i < Count; i++)
        {
            _episodeIndex[i] = 0;
            _envs[i].Reset(seed + i).AsSpan().CopyTo(Observations.AsSpan(i * ObservationDimension, ObservationDimension));
        }
        Array.Clear(WasReset);
        _started = true;
        return Observations;
    }

    /// <summary>Steps every copy with its row of <paramref name="actions"/> [N × act].</summary>
    public void Step(ReadOnlySpan<double> actions)
    {
        if (!_started) throw new InvalidOperationException("VectorEnv.Step: call Reset first.");
        if (actions.Length != Count * ActionDimension)
            throw new ArgumentException($"VectorEnv.Step({_envs[0].Name}): actions have length {actions.Length}, expected {Count} × {ActionDimension} = {Count * ActionDimension}.");
        for (int i = 0; i < actions.Length; i++)
        {
            if (!double.IsFinite(actions[i]))
                throw new ArgumentException($"VectorEnv.Step({_envs[0].Name}): actions[{i}] (copy {i / ActionDimension}, index {i % ActionDimension}) = {actions[i]} is not finite.");
        }

        if (!UsesParallel)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < Count; i++) StepOne(i, actions.Slice(i * ActionDimension, ActionDimension));
            if (Mode == StepMode.Auto && _probedSteps < AutoProbeSteps) Probe(System.Diagnostics.Stopwatch.GetTimestamp() - start);
            return;
        }
        // One contiguous chunk of copies per core: few tasks, no per-copy scheduling cost.
        actions.CopyTo(_actionBuffer);
        _chunks = Math.Min(Environment.ProcessorCount, Count);
        System.Threading.Tasks.Parallel.For(0, _chunks, _stepChunk);
    }

    void Probe(long ticks)
    {
        // The first steps pay for JIT compilation and other threads can interrupt any one step, so the decision
        // uses the fastest of the steps after a warm-up.
        if (++_probedSteps > AutoWarmupSteps) _fastestTicks = Math.Min(_fastestTicks, ticks);
        if (_probedSteps < AutoProbeSteps) return;
        double fastest = (double)_fastestTicks / System.Diagnostics.Stopwatch.Frequency;
        UsesParallel = Count > 1 && Environment.ProcessorCount > 1 && fastest > ParallelThreshold.TotalSeconds;
    }

    void StepChunk(int c)
    {
        int start = c * Count / _chunks, end = (c + 1) * Count / _chunks;
        for (int i = start; i < end; i++) StepOne(i, _actionBuffer.AsSpan(i * ActionDimension, ActionDimension));
    }

    void StepOne(int i, ReadOnlySpan<double> action)
    {
        var result = _envs[i].Step(action);
        var row = Observations.AsSpan(i * ObservationDimension, ObservationDimension);
        result.Observation.AsSpan(0, ObservationDimension).CopyTo(row);
        Rewards[i] = result.Reward;
        Terminated[i] = result.Terminated;
        Truncated[i] = result.Truncated;
        WasReset[i] = false;
        if (AutoReset && result.Done)
        {
            row.CopyTo(FinalObservations.AsSpan(i * ObservationDimension, ObservationDimension));
            _episodeIndex[i]++;
            _envs[i].Reset(AutoResetSeed(_baseSeed, i, _episodeIndex[i])).AsSpan().CopyTo(row);
            WasReset[i] = true;
        }
    }

    /// <summary>The seed copy <paramref name="index"/> uses for its <paramref name="episode"/>-th auto-reset.</summary>
    public static int AutoResetSeed(int seed, int index, int episode)
    {
        var block = Philox.Block(unchecked((ulong)seed), ((ulong)(uint)index << 32) | (uint)episode);
        return (int)(block.X0 & 0x7FFF_FFFF);
    }

    /// <summary>The observations as a float32 tensor [N, obs] on <paramref name="device"/> (the caller disposes it).</summary>
    public Tensor ObservationTensor(Device? device = null) => BatchTensor.FromRows(Observations, Count, ObservationDimension, device);

    public void Dispose()
    {
        foreach (var env in _envs) env.Dispose();
    }
}
