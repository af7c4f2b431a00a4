using System.Diagnostics;
using DiffTori.Engine;
using DiffTori.Envs;
using DiffTori.Rl.Agents;
using DiffTori.Rl.Replay;

namespace DiffTori.Rl.Training;

/// <summary>A snapshot for progress displays.</summary>
public readonly record struct TrainingProgress(long EnvStep, long TotalSteps, long Episode, double LastEpisodeReturn, double LastEvalReturn, double StepsPerSecond, double WallSeconds);

/// <summary>
/// The training loop of TD-MPC, shared by every agent: collect a whole episode (uniform random
/// actions during the seed steps), store it, then run one update per agent step (all seed steps'
/// worth at the first update), evaluate every EvalEvery env steps, checkpoint every CheckpointEvery.
/// Checkpoints happen at episode boundaries, and every random draw is a function of the seed and a
/// saved counter (episode seeds come from the episode index), so a resumed run repeats an
/// uninterrupted one exactly.
/// </summary>
public sealed class Trainer
{
    private readonly RlConfig _cfg;
    private readonly string _runFolder;
    private readonly Action<TrainingProgress>? _progress;

    public Trainer(RlConfig cfg, string runFolder, Action<TrainingProgress>? progress = null)
    {
        cfg.Validate();
        _cfg = cfg;
        _runFolder = runFolder;
        _progress = progress;
    }

    public static IAgent CreateAgent(RlConfig cfg, int observationDim, int actionDim)
    {
        var device = cfg.Device == "cpu" ? Device.Cpu : Device.Get(cfg.Device);
        return cfg.Agent switch
        {
            "tdmpc" => new TdMpcAgent(observationDim, actionDim, cfg, device),
            "sac" => new SacAgent(observationDim, actionDim, cfg, device),
            "difftori" => new DiffToriAgent(observationDim, actionDim, cfg, device),
            _ => throw new ArgumentException($"Trainer: agent '{cfg.Agent}' is not available (tdmpc, sac, difftori)"),
        };
    }

    public static IEnv MakeEnv(RlConfig cfg) => EnvRegistry.Make(cfg.Task, cfg.ActionRepeat, cfg.EpisodeLimit);

    /// <summary>
    /// Train until cfg.Steps env steps (or until stopAfterEnvStep, after the checkpoint that follows it:
    /// the "kill" of the resume test). resume: continue from the run folder's latest checkpoint.
    /// Returns the final state.
    /// </summary>
    public TrainerState Run(bool resume = false, long? stopAfterEnvStep = null)
    {
        Directory.CreateDirectory(_runFolder);
        using var env = MakeEnv(_cfg);
        using var evalEnv = MakeEnv(_cfg);
        int repeat = _cfg.ActionRepeat ?? EnvRegistry.Spec(_cfg.Task).ActionRepeat;
        int obsDim = env.ObservationSpace.Dimension, actDim = env.ActionSpace.Dimension;
        var agent = CreateAgent(_cfg, obsDim, actDim);
        var buffer = new ReplayBuffer(obsDim, actDim, _cfg.BufferCapacity, agent.ReplayWindow, _cfg.Prioritized, _cfg.PerAlpha, _cfg.PerBeta);

        TrainerState state;
        string configPath = Path.Combine(_runFolder, "config.json");
        string? latest = resume ? AgentCheckpoint.Latest(_runFolder) : null;
        if (resume && latest is null && File.Exists(Path.Combine(_runFolder, "metrics.csv")))
            throw new InvalidOperationException($"Trainer: --resume but '{_runFolder}' has no complete checkpoint");
        if (latest is not null)
            state = AgentCheckpoint.Load(latest, agent, buffer);
        else
        {
            foreach (var f in new[] { "metrics.jsonl", "metrics.csv" })
                if (File.Exists(Path.Combine(_runFolder, f))) File.Delete(Path.Combine(_runFolder, f));
            state = new TrainerState(0, 0, 0, _cfg.CheckpointEvery, 0, false, agent.Rng.Counter, 0, 0, 0, double.NaN);
        }
        AgentCheckpoint.WriteAtomic(configPath, _cfg.ToJson());

        using var log = new MetricsLog(_runFolder, agent.MetricNames,
            latest is null ? null : state.JsonlLength, latest is null ? null : state.CsvLength);
        var clock = Stopwatch.StartNew();
        double wallBase = state.WallSeconds;
        long envStep = state.EnvStep, episode = state.Episode, nextEval = state.NextEval, nextCheckpoint = state.NextCheckpoint;
        int evalCount = state.EvalCount;
        bool updatesStarted = state.UpdatesStarted;
        double lastEval = state.LastEvalReturn, lastReturn = double.NaN;
        long stepsAtStart = envStep;

        TrainerState Snapshot() => new(envStep, episode, nextEval, nextCheckpoint, evalCount, updatesStarted, agent.Rng.Counter,
            log.JsonlLength, log.CsvLength, wallBase + clock.Elapsed.TotalSeconds, lastEval);
        double StepsPerSecond() => (envStep - stepsAtStart) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        void Report() => _progress?.Invoke(new(envStep, _cfg.Steps, episode, lastReturn, lastEval, StepsPerSecond(), wallBase + clock.Elapsed.TotalSeconds));

        void EvaluateIfDue()
        {
            // Due every EvalEvery steps, and once more at the end of training if the last one was earlier.
            bool finalEval = envStep >= _cfg.Steps && nextEval - _cfg.EvalEvery < envStep;
            if ((envStep < nextEval && !finalEval) || _cfg.EvalEpisodes == 0) return;
            lastEval = Evaluate(agent, evalEnv, _cfg, evalCount, envStep);
            evalCount++;
            while (nextEval <= envStep) nextEval += _cfg.EvalEvery;
            if (finalEval) nextEval = envStep + _cfg.EvalEvery;
            log.Write("eval", new Dictionary<string, double>
            {
                ["env_step"] = envStep, ["episode"] = episode, ["eval_return"] = lastEval,
                ["wall_s"] = wallBase + clock.Elapsed.TotalSeconds,
            });
            Report();
        }

        while (true)
        {
            EvaluateIfDue();
            if (envStep >= _cfg.Steps) break;

            // One episode.
            var observations = new List<double[]>();
            var actions = new List<double[]>();
            var rewards = new List<double>();
            var obs = env.Reset(EpisodeSeed(_cfg.Seed, episode));
            observations.Add((double[])obs.Clone());
            agent.BeginEpisode();
            bool terminated = false;
            double episodeReturn = 0;
            while (true)
            {
                double[] action = envStep < _cfg.SeedSteps ? RandomAction(agent.Rng, actDim) : agent.Act(obs, envStep, eval: false);
                var result = env.Step(action);
                obs = result.Observation;
                observations.Add((double[])obs.Clone());
                actions.Add(action);
                rewards.Add(result.Reward);
                episodeReturn += result.Reward;
                envStep += repeat;
                if (result.Done) { terminated = result.Terminated; break; }
            }
            agent.EndEpisode();
            buffer.AddEpisode(observations, actions, rewards, terminated);
            episode++;
            lastReturn = episodeReturn;

            var metrics = new Dictionary<string, double>();
            int updates = 0;
            if (envStep >= _cfg.SeedSteps)
            {
                long agentSteps = updatesStarted ? actions.Count : envStep / repeat;
                updates = (int)Math.Round(agentSteps * _cfg.UpdatesPerStep);
                for (int i = 0; i < updates; i++) agent.Update(buffer, envStep, metrics);
                updatesStarted = true;
            }
            var row = new Dictionary<string, double>
            {
                ["env_step"] = envStep, ["episode"] = episode, ["episode_return"] = episodeReturn,
                ["wall_s"] = wallBase + clock.Elapsed.TotalSeconds, ["steps_per_s"] = StepsPerSecond(),
            };
            foreach (var (k, v) in metrics) row[k] = v / Math.Max(1, updates);
            log.Write("train", row);
            Report();

            bool stopping = stopAfterEnvStep is long stop && envStep >= stop;
            if (envStep >= nextCheckpoint || envStep >= _cfg.Steps || stopping)
            {
                while (nextCheckpoint <= envStep) nextCheckpoint += _cfg.CheckpointEvery;
                // An evaluation due at this step belongs before the checkpoint, so both runs agree.
                EvaluateIfDue();
                AgentCheckpoint.Save(_runFolder, agent, buffer, Snapshot());
            }
            if (stopping) return Snapshot();
        }
        return Snapshot();
    }

    /// <summary>Mean return of cfg.EvalEpisodes episodes without exploration noise, on seeds disjoint from training's.</summary>
    public static double Evaluate(IAgent agent, IEnv env, RlConfig cfg, int evalIndex, long envStep)
    {
        double sum = 0;
        for (int k = 0; k < cfg.EvalEpisodes; k++)
        {
            var obs = env.Reset(unchecked((int)(0x40000000 + cfg.Seed * 7919L + evalIndex * 1009L + k) & int.MaxValue));
            agent.BeginEpisode();
            while (true)
            {
                var result = env.Step(agent.Act(obs, envStep, eval: true));
                sum += result.Reward;
                obs = result.Observation;
                if (result.Done) break;
            }
        }
        return sum / Math.Max(1, cfg.EvalEpisodes);
    }

    public static int EpisodeSeed(int seed, long episode) => (int)((seed * 1_000_003L + episode) & int.MaxValue);

    private static double[] RandomAction(RandomGenerator rng, int dim)
    {
        var a = new double[dim];
        for (int i = 0; i < dim; i++) a[i] = 2 * rng.NextDouble() - 1;
        return a;
    }
}
