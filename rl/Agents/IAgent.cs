using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;
using DiffTori.Rl.Replay;

namespace DiffTori.Rl.Agents;

/// <summary>
/// What the trainer needs from an agent. Everything that changes during training lives in
/// <see cref="Model"/> (all networks, target copies included), <see cref="Optimizers"/> and the
/// counter of <see cref="Rng"/>, so a checkpoint of those three resumes a run exactly.
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

    /// <summary>Called before the first Act of every episode (planners drop their warm start).</summary>
    void BeginEpisode();

    /// <summary>Called after the last step of every training episode, before the updates (DiffTORI applies its per-episode gradient here).</summary>
    void EndEpisode();

    /// <summary>The action for obs; envStep drives the schedules; eval: no exploration noise.</summary>
    double[] Act(double[] observation, long envStep, bool eval);

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
