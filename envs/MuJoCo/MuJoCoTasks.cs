using DiffTori.Envs.MuJoCo.Tasks;

namespace DiffTori.Envs.MuJoCo;

/// <summary>
/// The DeepMind Control tasks on the MuJoCo backend, by registry name. Tasks that also exist as pure-managed
/// environments carry a "mujoco/" prefix (e.g. "mujoco/pendulum-swingup") so both can be registered.
/// </summary>
public static class MuJoCoTasks
{
    /// <summary>Registry backend name of these tasks.</summary>
    public const string Backend = "mujoco";

    /// <summary>Name → factory; each call makes a fresh environment (its own model and data).</summary>
    public static IReadOnlyDictionary<string, Func<IEnv>> Factories { get; } = new Dictionary<string, Func<IEnv>>
    {
        ["mujoco/pendulum-swingup"] = () => new PendulumSwingUp(),
        ["mujoco/cartpole-swingup"] = () => new CartpoleSwingUp(sparse: false),
        ["mujoco/cartpole-swingup-sparse"] = () => new CartpoleSwingUp(sparse: true),
        ["mujoco/acrobot-swingup"] = () => new AcrobotSwingUp(sparse: false),
        ["mujoco/reacher-easy"] = () => new Reacher(hard: false),
        ["mujoco/reacher-hard"] = () => new Reacher(hard: true),
        ["cheetah-run"] = () => new CheetahRun(),
        ["walker-stand"] = PlanarWalker.Stand,
        ["walker-walk"] = PlanarWalker.Walk,
        ["walker-run"] = PlanarWalker.Run,
        ["hopper-stand"] = () => new HopperStand(hopping: false),
    };

    public static IReadOnlyList<string> Names { get; } = Factories.Keys.ToArray();

    /// <summary>Makes the named task; throws listing the known names when it is unknown, or when MuJoCo is missing.</summary>
    public static IEnv Make(string name)
    {
        if (!Factories.TryGetValue(name, out var make))
            throw new KeyNotFoundException($"MuJoCoTasks.Make: unknown task '{name}'; known: {string.Join(", ", Names)}");
        if (!MjRuntime.IsAvailable) throw new DllNotFoundException(MjRuntime.UnavailableReason);
        return make();
    }
}
