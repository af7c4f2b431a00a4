using System.Text.Json;
using DiffTori.Autodiff.Checkpoints;
using DiffTori.Rl.Agents;
using DiffTori.Rl.Replay;

namespace DiffTori.Rl.Training;

/// <summary>
/// Where the trainer was when it saved: enough to continue the same run step for step. AgentRngCounter is
/// slot 0's stream (the agent's own generator), StreamCounters those of slots 1, 2, … (absent in older runs).
/// </summary>
public sealed record TrainerState(
    long EnvStep, long Episode, long NextEval, long NextCheckpoint, int EvalCount, bool UpdatesStarted,
    ulong AgentRngCounter, long JsonlLength, long CsvLength, double WallSeconds, double LastEvalReturn,
    ulong[]? StreamCounters = null);

/// <summary>
/// A checkpoint is a folder checkpoints/step_NNNNNNNNNN/ holding model.safetensors (every network and
/// the first optimizer), one optimizer_NAME.safetensors per further optimizer, replay.bin and
/// state.json. It is written under a temporary name and renamed when complete, then "latest" (a
/// one-line file) is replaced atomically; older checkpoints are deleted. A crash at any point leaves
/// the previous complete checkpoint in place.
/// </summary>
public static class AgentCheckpoint
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static string Save(string runFolder, IAgent agent, ReplayBuffer buffer, TrainerState state)
    {
        string root = Path.Combine(runFolder, "checkpoints");
        Directory.CreateDirectory(root);
        string name = $"step_{state.EnvStep:D10}";
        string final = Path.Combine(root, name);
        string temp = final + ".tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);

        var optimizers = agent.Optimizers;
        Checkpoint.Save(Path.Combine(temp, "model.safetensors"), agent.Model, optimizers[0].Value,
            metadata: new Dictionary<string, string> { ["agent"] = agent.Name, ["optimizer"] = optimizers[0].Key });
        for (int i = 1; i < optimizers.Count; i++)
            Checkpoint.Save(Path.Combine(temp, $"optimizer_{optimizers[i].Key}.safetensors"), null, optimizers[i].Value);
        buffer.Save(Path.Combine(temp, "replay.bin"));
        WriteAtomic(Path.Combine(temp, "state.json"), JsonSerializer.Serialize(state, Json));

        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        WriteAtomic(Path.Combine(root, "latest"), name);
        foreach (var old in Directory.GetDirectories(root))
            if (Path.GetFileName(old) != name) Directory.Delete(old, recursive: true);
        return final;
    }

    /// <summary>The latest complete checkpoint folder of a run, or null.</summary>
    public static string? Latest(string runFolder)
    {
        string pointer = Path.Combine(runFolder, "checkpoints", "latest");
        if (!File.Exists(pointer)) return null;
        string folder = Path.Combine(runFolder, "checkpoints", File.ReadAllText(pointer).Trim());
        return Directory.Exists(folder) ? folder : null;
    }

    /// <summary>Restore agent, buffer and RNG from a checkpoint folder; returns the trainer state.</summary>
    public static TrainerState Load(string folder, IAgent agent, ReplayBuffer? buffer)
    {
        var optimizers = agent.Optimizers;
        var meta = Checkpoint.Load(Path.Combine(folder, "model.safetensors"), agent.Model, optimizers[0].Value);
        if (meta.TryGetValue("agent", out var saved) && saved != agent.Name)
            throw new InvalidDataException($"AgentCheckpoint.Load: '{folder}' holds a {saved} agent, not {agent.Name}");
        for (int i = 1; i < optimizers.Count; i++)
            Checkpoint.Load(Path.Combine(folder, $"optimizer_{optimizers[i].Key}.safetensors"), null, optimizers[i].Value);
        buffer?.Load(Path.Combine(folder, "replay.bin"));
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(Path.Combine(folder, "state.json")), Json)
            ?? throw new InvalidDataException($"AgentCheckpoint.Load: '{folder}/state.json' is empty");
        agent.Rng.Counter = state.AgentRngCounter;
        agent.Streams.RestoreForkCounters(state.StreamCounters ?? []);
        return state;
    }

    public static void WriteAtomic(string path, string text)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
