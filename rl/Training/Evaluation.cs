using DiffTori.Rl.Agents;

namespace DiffTori.Rl.Training;

/// <summary>Evaluate a finished (or running) run from its latest checkpoint.</summary>
public static class Evaluation
{
    /// <summary>Keys that shape the saved networks or the task: an evaluation override may not change them.</summary>
    private static readonly (string Key, Func<RlConfig, object> Value)[] FixedByCheckpoint =
    [
        ("task", c => c.Task), ("agent", c => c.Agent), ("latent_dim", c => c.LatentDim),
        ("hidden_dim", c => c.HiddenDim), ("encoder_dim", c => c.EncoderDim), ("sac_hidden_dim", c => c.SacHiddenDim),
    ];

    /// <summary>
    /// Load the run's config and latest checkpoint and return the mean return over episodes (default: the
    /// config's eval_episodes, run in parallel), on the evaluation seeds of the next evaluation index.
    /// overridesJson changes how the saved agent acts (e.g. solver_iterations, solver_step_size, plan_samples)
    /// for this evaluation only; keys that define the networks or the task are refused.
    /// </summary>
    public static double EvaluateRun(string runFolder, int? episodes, string? overridesJson = null)
    {
        string configPath = Path.Combine(runFolder, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"rl eval: '{runFolder}' has no config.json (not a run folder)");
        var saved = RlConfig.FromJson(File.ReadAllText(configPath));
        var cfg = overridesJson is null ? saved : saved.WithOverrides(overridesJson);
        foreach (var (key, value) in FixedByCheckpoint)
            if (!Equals(value(saved), value(cfg)))
                throw new ArgumentException($"rl eval: the override may not change '{key}' ({value(saved)} in '{configPath}'): the checkpoint was trained with it");
        if (episodes is int n) cfg.EvalEpisodes = n;
        cfg.Validate();
        string checkpoint = AgentCheckpoint.Latest(runFolder)
            ?? throw new FileNotFoundException($"rl eval: '{runFolder}' has no complete checkpoint");
        if (cfg.EvalEpisodes < 1) throw new ArgumentException($"rl eval: need at least one episode, got {cfg.EvalEpisodes}");
        using var envs = Trainer.MakeEnvs(cfg, cfg.EvalEpisodes);
        IAgent agent = Trainer.CreateAgent(cfg, envs.ObservationDimension, envs.ActionDimension);
        var state = AgentCheckpoint.Load(checkpoint, agent, buffer: null);
        return Trainer.Evaluate(agent, envs, cfg, state.EvalCount, state.EnvStep);
    }
}
