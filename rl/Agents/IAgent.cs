using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;
using DiffTori.Rl.Replay;

namespace DiffTori.Rl.Agents;

/// <summary>
/// What the trainer needs from an agent. Everything that changes during training lives in
/// <see cref="Model"/> (all networks, target copies included), <see cref="Optimizers"/> and the
/// counters of <see cref="Streams"/> (slot 0 is <see cref="Rng"/>), so a checkpoint of those three
/// resumes a run exactly. Per-slot warm starts are dropped at every episode start and hold nothing
/// between episodes, so checkpoints (taken between episodes) need not store them.
/// </summary>
public interface IAgent
{
    string Name { get; }
    /// <summary>Steps per replay window the updates read (TD-MPC: horizon, SAC: 1).</summary>
    int ReplayWindow { get; }
    /// <summary>Names of the values that <see cref="Update"/> reports (the metrics.csv columns).</summary>
    IReadOnlyList<string> MetricNames { get; }
    Module Model { get; }
    IReadOnlyList<KeyValuePair<string, Optimizer>> Optimizers { get; }
    RandomGenerator Rng { get; }

    /// <summary>One random stream per environment slot (slot 0 is <see cref="Rng"/>); see <see cref="EnvStreams"/>.</summary>
    EnvStreams Streams { get; }

    /// <summary>Called before the first action of every episode of environment slot env (planners drop that slot's warm start).</summary>
    void BeginEpisode(int env);

    /// <summary>
    /// Called after the last step of every training episode of slot env, before the updates (DiffTORI
    /// applies the policy gradient accumulated so far, over every slot, here).
    /// </summary>
    void EndEpisode(int env);

    /// <summary>
    /// Actions for B environments at once: observations [B × obs] row-major, envs[b] the slot of row b
    /// (its warm start and random stream), distinct; returns [B × act]. One batched network pass and one
    /// batched planner or solver call; row b equals what a single-environment call for slot envs[b]
    /// returns (to float rounding), since every slot draws from its own stream. envStep drives the
    /// schedules; eval: no exploration noise and no learning.
    /// </summary>
    double[] ActBatch(ReadOnlySpan<double> observations, ReadOnlySpan<int> envs, long envStep, bool eval);

    /// <summary>Single-environment acting: <see cref="ActBatch"/> with B = 1 on slot 0.</summary>
    double[] Act(double[] observation, long envStep, bool eval);

    /// <summary><see cref="BeginEpisode(int)"/> for slot 0.</summary>
    void BeginEpisode();

    /// <summary><see cref="EndEpisode(int)"/> for slot 0.</summary>
    void EndEpisode();

    /// <summary>One gradient update from the buffer; adds its metrics into metrics (summed; the trainer averages).</summary>
    void Update(ReplayBuffer buffer, long envStep, Dictionary<string, double> metrics);
}

/// <summary>A module that holds a single learnable tensor (SAC's log-temperature).</summary>
public sealed class ScalarParameter : Module
{
    public ScalarParameter(string name, double value, Device? device = null) =>
        Value = AddParameter(name, Tensor.Scalar(value, DType.Float32, device));

    public DiffTori.Autodiff.Var Value { get; }
}

/// <summary>A module that just groups other modules under names (so one checkpoint holds them all).</summary>
public sealed class ModuleGroup : Module
{
    public T Add<T>(string name, T module) where T : Module => AddModule(name, module);
}

/// <summary>Linear schedules as TD-MPC writes them: (1 − mix)·start + mix·end with mix = clip(step / duration, 0, 1).</summary>
public static class Schedules
{
    public static double Linear(double start, double end, long duration, long step)
    {
        double mix = duration <= 0 ? 1 : Math.Clamp((double)step / duration, 0, 1);
        return (1 - mix) * start + mix * end;
    }
}
