using System.Diagnostics;
using DiffTori.Engine;
using DiffTori.Envs;
using DiffTori.Envs.Vector;
using DiffTori.Rl.Agents;
using DiffTori.Rl.Replay;

namespace DiffTori.Rl.Training;

/// <summary>A snapshot for progress displays.</summary>
public readonly record struct TrainingProgress(long EnvStep, long TotalSteps, long Episode, double LastEpisodeReturn, double LastEvalReturn, double StepsPerSecond, double WallSeconds);

/// <summary>
/// The training loop of TD-MPC, shared by every agent: collect a whole episode in each of the NumEnvs
/// environments, stepped in lockstep with one batched act per round (uniform random actions during the
/// seed steps), store the episodes, then run one update per agent step collected (all seed steps' worth
/// at the first update), evaluate every EvalEvery env steps (the evaluation episodes in parallel),
/// checkpoint every CheckpointEvery. Checkpoints happen between batches of episodes, and every random
/// draw is a function of the seed and a saved counter (episode seeds come from the episode index, each
/// environment slot has its own stream), so a resumed run repeats an uninterrupted one exactly.
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

    /// <summary>count copies of the configured task, auto-resetting (see <see cref="LockstepEpisodes"/>).</summary>
    public static VectorEnv MakeEnvs(RlConfig cfg, int count) => new(_ => MakeEnv(cfg), count, autoReset: true);

    /// <summary>
    /// Train until cfg.Steps env steps (or until stopAfterEnvStep, after the checkpoint that follows it:
    /// the "kill" of the resume test). resume: continue from the run folder's latest checkpoint.
    /// Returns the final state.
    /// </summary>
    public TrainerState Run(bool resume = false, long? stopAfterEnvStep = null)
    {
        Directory.CreateDirectory(_runFolder);
        int numEnvs = _cfg.NumEnvs;
        using var envs = MakeEnvs(_cfg, numEnvs);
        using var evalEnvs = _cfg.EvalEpisodes > 0 ? MakeEnvs(_cfg, _cfg.EvalEpisodes) : null;
        int repeat = _cfg.ActionRepeat ?? EnvRegistry.Spec(_cfg.Task).ActionRepeat;
        int obsDim = envs.ObservationDimension, actDim = envs.ActionDimension;
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
            log.JsonlLength, log.CsvLength, wallBase + clock.Elapsed.TotalSeconds, lastEval, agent.Streams.ForkCounters());
        double StepsPerSecond() => (envStep - stepsAtStart) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        void Report() => _progress?.Invoke(new(envStep, _cfg.Steps, episode, lastReturn, lastEval, StepsPerSecond(), wallBase + clock.Elapsed.TotalSeconds));

        void EvaluateIfDue()
        {
            // Due every EvalEvery steps, and once more at the end of training if the last one was earlier.
            bool finalEval = envStep >= _cfg.Steps && nextEval - _cfg.EvalEvery < envStep;
            if ((envStep < nextEval && !finalEval) || evalEnvs is null) return;
            lastEval = Evaluate(agent, evalEnvs, _cfg, evalCount, envStep);
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

        // One act per lockstep round: random during the seed steps (from each slot's stream), then the agent, batched.
        double[] ActForTraining(double[] observations, int[] slots)
        {
            if (envStep >= _cfg.SeedSteps) return agent.ActBatch(observations, slots, envStep, eval: false);
            var actions = new double[slots.Length * actDim];
            for (int k = 0; k < slots.Length; k++) RandomAction(agent.Streams[slots[k]], actions.AsSpan(k * actDim, actDim));
            return actions;
        }
        var seeds = new int[numEnvs];

        while (true)
        {
            EvaluateIfDue();
            if (envStep >= _cfg.Steps) break;

            // One episode in each environment, in lockstep.
            for (int i = 0; i < numEnvs; i++)
            {
                seeds[i] = EpisodeSeed(_cfg.Seed, episode + i);
                agent.BeginEpisode(i);
            }
            var episodes = LockstepEpisodes.Run(envs, seeds, ActForTraining, record: true, afterStep: stepped => envStep += (long)repeat * stepped);
            for (int i = 0; i < numEnvs; i++) agent.EndEpisode(i);
            long collected = Store(buffer, episodes);
            episode += numEnvs;
            lastReturn = episodes.Average(e => e.Return);

            var metrics = new Dictionary<string, double>();
            int updates = 0;
            if (envStep >= _cfg.SeedSteps)
            {
                // UpdatesPerStep × every agent step so far (the seed steps' worth at the first update), minus
                // those already made: fractional rates do not drift, whatever the episode lengths or N.
                long before = updatesStarted ? envStep / repeat - collected : 0;
                updates = (int)(Math.Round(envStep / repeat * _cfg.UpdatesPerStep) - Math.Round(before * _cfg.UpdatesPerStep));
                for (int i = 0; i < updates; i++) agent.Update(buffer, envStep, metrics);
                updatesStarted = true;
            }
            var row = new Dictionary<string, double>
            {
                ["env_step"] = envStep, ["episode"] = episode, ["episode_return"] = lastReturn,
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

    /// <summary>
    /// Add a batch of lockstep episodes to the replay buffer, one whole episode after another (copy 0 first),
    /// so that a window, which never leaves its episode, never mixes environments. Returns the steps stored.
    /// </summary>
    public static long Store(ReplayBuffer buffer, IReadOnlyList<EpisodeRecord> episodes)
    {
        long steps = 0;
        foreach (var e in episodes)
        {
            buffer.AddEpisode(e.Observations, e.Actions, e.Rewards, e.Terminated);
            steps += e.Length;
        }
        return steps;
    }

    /// <summary>
    /// Mean return of cfg.EvalEpisodes episodes without exploration noise, on seeds disjoint from training's,
    /// run in parallel: episode k in copy k of envs (which must hold cfg.EvalEpisodes copies), acting as
    /// environment slot k, all acted for in one batched call per step. Each episode's result equals the
    /// same episode run alone in slot k.
    /// </summary>
    public static double Evaluate(IAgent agent, VectorEnv envs, RlConfig cfg, int evalIndex, long envStep)
    {
        if (envs.Count != cfg.EvalEpisodes)
            throw new ArgumentException($"Trainer.Evaluate: {envs.Count} environments for {cfg.EvalEpisodes} evaluation episodes");
        var seeds = new int[cfg.EvalEpisodes];
        for (int k = 0; k < seeds.Length; k++)
        {
            seeds[k] = EvalSeed(cfg.Seed, evalIndex, k);
            agent.BeginEpisode(k);
        }
        var episodes = LockstepEpisodes.Run(envs, seeds, (obs, slots) => agent.ActBatch(obs, slots, envStep, eval: true), record: false);
        double sum = 0;
        foreach (var e in episodes) sum += e.Return;
        return sum / Math.Max(1, cfg.EvalEpisodes);
    }

    /// <summary>The seed of evaluation episode k of the evalIndex-th evaluation.</summary>
    public static int EvalSeed(int seed, int evalIndex, int k) => unchecked((int)(0x40000000 + seed * 7919L + evalIndex * 1009L + k) & int.MaxValue);

    public static int EpisodeSeed(int seed, long episode) => (int)((seed * 1_000_003L + episode) & int.MaxValue);

    private static void RandomAction(RandomGenerator rng, Span<double> action)
    {
        for (int i = 0; i < action.Length; i++) action[i] = 2 * rng.NextDouble() - 1;
    }
}
