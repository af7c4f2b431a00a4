namespace DiffTori.Envs;

/// <summary>
/// What the registry knows about a task before building it.
/// </summary>
/// <param name="Name">Registry name, e.g. "cartpole-swingup".</param>
/// <param name="Backend">"managed" (our own equations, no native code) or "mujoco".</param>
/// <param name="ObservationDimension">Length of the flat observation.</param>
/// <param name="ActionDimension">Length of the action (each in [-1, 1]).</param>
/// <param name="EpisodeLength">Environment steps per episode (before action repeat).</param>
/// <param name="ActionRepeat">Default action repeat for training (TD-MPC's per-domain setting).</param>
/// <param name="Description">One line for `difftori envs list`.</param>
public sealed record EnvSpec(
    string Name, string Backend, int ObservationDimension, int ActionDimension,
    int EpisodeLength, int ActionRepeat, string Description)
{
    public const string Managed = "managed";
    public const string MuJoCo = "mujoco";
}
