using DiffTori.Envs.Vector;

namespace DiffTori.Rl.Training;

/// <summary>One finished episode: observations [L+1][obs], actions [L][act], rewards [L].</summary>
public sealed class EpisodeRecord
{
    public List<double[]> Observations { get; } = [];
    public List<double[]> Actions { get; } = [];
    public List<double> Rewards { get; } = [];
    /// <summary>The task ended by itself (no bootstrap after the last step), rather than by a time limit.</summary>
    public bool Terminated { get; set; }
    public double Return { get; set; }
    /// <summary>Agent steps taken.</summary>
    public int Length { get; set; }
}

/// <summary>
/// One episode in every copy of a <see cref="VectorEnv"/>, stepped in lockstep: each round the active copies
/// act together (one batched call) and step together. Copy i starts from seeds[i]. A copy whose episode
/// ended drops out of the batch; the vector env (built with auto-reset) keeps stepping it on a throwaway
/// episode with zero actions until the others finish, which only happens for tasks that can end early
/// (every DeepMind Control task runs to its time limit, so all copies finish in the same round).
/// </summary>
public static class LockstepEpisodes
{
    /// <summary>Actions [A × act] for the observations [A × obs] of the active copies (ascending copy indices).</summary>
    public delegate double[] ActFn(double[] observations, int[] copies);

    /// <param name="record">Keep every observation, action and reward (training); otherwise only returns and lengths.</param>
    /// <param name="afterStep">Called after every round with the number of copies that stepped in it.</param>
    public static EpisodeRecord[] Run(VectorEnv envs, ReadOnlySpan<int> seeds, ActFn act, bool record, Action<int>? afterStep = null)
    {
        if (!envs.AutoReset) throw new ArgumentException("LockstepEpisodes.Run: the vector env must auto-reset (finished copies keep stepping)");
        int count = envs.Count, o = envs.ObservationDimension, m = envs.ActionDimension;
        Reset(envs, seeds);
        var episodes = new EpisodeRecord[count];
        for (int i = 0; i < count; i++)
        {
            episodes[i] = new EpisodeRecord();
            if (record) episodes[i].Observations.Add(envs.Observations.AsSpan(i * o, o).ToArray());
        }
        var active = Enumerable.Range(0, count).ToList();
        var allActions = new double[count * m];
        while (active.Count > 0)
        {
            int[] copies = [.. active];
            var observations = new double[copies.Length * o];
            for (int k = 0; k < copies.Length; k++) envs.Observations.AsSpan(copies[k] * o, o).CopyTo(observations.AsSpan(k * o, o));
            var actions = act(observations, copies);
            if (actions.Length != copies.Length * m)
                throw new InvalidOperationException($"LockstepEpisodes.Run: the agent returned {actions.Length} action values for {copies.Length} environments of action dimension {m}");
            Array.Clear(allActions);
            for (int k = 0; k < copies.Length; k++) actions.AsSpan(k * m, m).CopyTo(allActions.AsSpan(copies[k] * m, m));
            envs.Step(allActions);
            for (int k = 0; k < copies.Length; k++)
            {
                int i = copies[k];
                var episode = episodes[i];
                bool done = envs.Terminated[i] || envs.Truncated[i];
                episode.Return += envs.Rewards[i];
                episode.Length++;
                if (record)
                {
                    // After auto-reset the copy's row already holds the next episode's start; the last observation is kept aside.
                    var next = done ? envs.FinalObservations : envs.Observations;
                    episode.Observations.Add(next.AsSpan(i * o, o).ToArray());
                    episode.Actions.Add(actions.AsSpan(k * m, m).ToArray());
                    episode.Rewards.Add(envs.Rewards[i]);
                }
                if (done)
                {
                    episode.Terminated = envs.Terminated[i];
                    active.Remove(i);
                }
            }
            afterStep?.Invoke(copies.Length);
        }
        return episodes;
    }

    /// <summary>
    /// Reset copy i with seeds[i]. VectorEnv.Reset(s) seeds copy i with s + i, which is the trainer's scheme
    /// (consecutive episode seeds); a copy whose seed is not consecutive (wrap-around at int.MaxValue) is reset again with its own.
    /// </summary>
    private static void Reset(VectorEnv envs, ReadOnlySpan<int> seeds)
    {
        if (seeds.Length != envs.Count)
            throw new ArgumentException($"LockstepEpisodes.Run: {seeds.Length} seeds for {envs.Count} environments");
        envs.Reset(seeds[0]);
        int o = envs.ObservationDimension;
        for (int i = 1; i < seeds.Length; i++)
            if (seeds[i] != unchecked(seeds[0] + i))
                envs[i].Reset(seeds[i]).AsSpan(0, o).CopyTo(envs.Observations.AsSpan(i * o, o));
    }
}
