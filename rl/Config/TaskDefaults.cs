using DiffTori.Envs;

namespace DiffTori.Rl;

/// <summary>
/// Per-task settings that differ from the global defaults: action repeat (from the envs registry),
/// planner iterations (TD-MPC uses more on the hardest locomotion tasks) and the DiffTORI solver's
/// damping (the authors' per-task LM damping). The user overrides any of them with --config.
/// </summary>
public static class TaskDefaults
{
    private sealed record Row(int PlanIterations, double SolverDamping);

    private static readonly Dictionary<string, Row> Table = new(StringComparer.Ordinal)
    {
        ["pendulum-swingup"] = new(6, 0.1),
        ["cartpole-swingup"] = new(6, 0.1),
        ["cartpole-swingup-sparse"] = new(6, 0.1),
        ["reacher-easy"] = new(6, 0.01),
        ["reacher-hard"] = new(6, 0.01),
        ["finger-spin"] = new(6, 0.1),
        ["finger-turn-easy"] = new(6, 0.1),
        ["finger-turn-hard"] = new(6, 0.1),
        ["cup-catch"] = new(6, 0.1),
        ["walker-stand"] = new(6, 0.5),
        ["walker-walk"] = new(6, 0.5),
        ["walker-run"] = new(6, 0.5),
        ["cheetah-run"] = new(6, 0.5),
        ["hopper-stand"] = new(6, 0.5),
        ["quadruped-walk"] = new(8, 0.5),
        ["quadruped-run"] = new(8, 0.5),
    };

    /// <summary>The config for a task and agent: global defaults, then the task row, then the user's JSON overrides.</summary>
    public static RlConfig Resolve(string task, string agent, string? overridesJson = null)
    {
        var cfg = new RlConfig { Task = task, Agent = agent };
        var spec = EnvRegistry.Spec(task);
        cfg.ActionRepeat = spec.ActionRepeat;
        if (Table.TryGetValue(task, out var row))
        {
            cfg.PlanIterations = row.PlanIterations;
            cfg.SolverDamping = row.SolverDamping;
        }
        if (overridesJson is not null) cfg = cfg.WithOverrides(overridesJson);
        cfg.Validate();
        return cfg;
    }
}
