using DiffTori.Bench.Harness;
using DiffTori.Engine;
using DiffTori.Rl;
using DiffTori.Rl.Agents;
using DiffTori.Rl.Replay;
using DiffTori.Rl.Training;

namespace DiffTori.Bench;

/// <summary>
/// What one agent step costs on cartpole-swingup, for each agent at two sizes: the paper's networks (the
/// config defaults: latent 50, width 512, batch 512, DiffTORI's LM with 50 iterations, truncated 5) and the
/// small ones of configs/quickstart.json. "act" is one training-mode action after the schedules have ended
/// (DiffTORI: the solve plus the policy-gradient backward through it, the figure the paper reports as
/// 0.052 s on a GPU); "update" is one gradient update from a filled replay buffer. There is no PyTorch
/// twin: the comparison is the paper's figure.
/// </summary>
public static class RlSuite
{
    private const string Task = "cartpole-swingup";

    public static int Run(string[] args)
    {
        string quickstart = File.ReadAllText(Path.Combine(BenchSuite.RepositoryRoot(), "configs", "quickstart.json"));
        var workloads = new List<Workload>();
        foreach (var (size, overrides) in new[] { ("paper", (string?)null), ("quickstart", quickstart) })
            foreach (var agentName in new[] { "tdmpc", "difftori", "sac" })
                workloads.AddRange(AgentWorkloads(agentName, size, overrides));
        return BenchSuite.Run("rl", workloads, [.. args, "--no-torch"]);
    }

    private static IEnumerable<Workload> AgentWorkloads(string agentName, string size, string? overrides)
    {
        var cfg = TaskDefaults.Resolve(Task, agentName, overrides);
        using var probe = Trainer.MakeEnv(cfg);
        int obsDim = probe.ObservationSpace.Dimension, actDim = probe.ActionSpace.Dimension;
        var agent = Trainer.CreateAgent(cfg, obsDim, actDim);
        var buffer = RandomBuffer(probe, agent.ReplayWindow, cfg);
        var observation = probe.Reset(0);
        const long afterSchedules = 1_000_000;
        var metrics = new Dictionary<string, double>();
        yield return new($"{agentName} {size}: act", () => agent.Act(observation, afterSchedules, eval: false));
        yield return new($"{agentName} {size}: update", () => agent.Update(buffer, afterSchedules, metrics));
    }

    /// <summary>A replay buffer holding a few random-action episodes, enough for any batch size.</summary>
    private static ReplayBuffer RandomBuffer(DiffTori.Envs.IEnv env, int window, RlConfig cfg)
    {
        var buffer = new ReplayBuffer(env.ObservationSpace.Dimension, env.ActionSpace.Dimension, 10_000, window, cfg.Prioritized);
        var rng = new Random(1);
        for (int episode = 0; episode < 4; episode++)
        {
            var observations = new List<double[]> { (double[])env.Reset(episode).Clone() };
            var actions = new List<double[]>();
            var rewards = new List<double>();
            bool done = false;
            while (!done)
            {
                var action = new double[env.ActionSpace.Dimension];
                for (int j = 0; j < action.Length; j++) action[j] = rng.NextDouble() * 2 - 1;
                var step = env.Step(action);
                actions.Add(action);
                rewards.Add(step.Reward);
                observations.Add((double[])step.Observation.Clone());
                done = step.Done;
            }
            buffer.AddEpisode(observations, actions, rewards, terminated: false);
        }
        return buffer;
    }
}
