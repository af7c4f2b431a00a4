using DiffTori.Rl.Agents;

namespace DiffTori.Rl.Training;

/// <summary>Evaluate a finished (or running) run from its latest checkpoint.</summary>
public static class Evaluation
{
    /// <summary>
    /// Load the run's config and latest checkpoint and return the mean return over episodes (default: the
    /// config's eval_episodes, run in parallel), on the evaluation seeds of the next evaluation index.
    /// </summary>
    public static double EvaluateRun(string runFolder, int? episodes)
    {
        string configPath = Path.Combine(runFolder, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"rl eval: '{runFolder}' has no config.json (not a run folder)");
        var cfg = RlConfig.FromJson(File.ReadAllText(configPath));
        if (episodes is int n) cfg.EvalEpisodes = n;
        string checkpoint = AgentCheckpoint.Latest(runFolder)
            ?? throw new FileNotFoundException($"rl eval: '{runFolder}' has no complete checkpoint");
        if (cfg.EvalEpisodes < 1) throw new ArgumentException($"rl eval: need at least one episode, got {cfg.EvalEpisodes}");
        using var envs = Trainer.MakeEnvs(cfg, cfg.EvalEpisodes);
        IAgent agent = Trainer.CreateAgent(cfg, envs.ObservationDimension, envs.ActionDimension);
        var state = AgentCheckpoint.Load(checkpoint, agent, buffer: null);
        return Trainer.Evaluate(agent, envs, cfg, state.EvalCount, state.EnvStep);
    }
}
