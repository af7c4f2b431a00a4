using DiffTori.Envs.MuJoCo.Tasks;

namespace DiffTori.Envs.MuJoCo;

/// <summary>
/// The DeepMind Control tasks on the MuJoCo backend. Tasks that also exist as managed environments carry a
/// "mujoco/" prefix (e.g. "mujoco/pendulum-swingup") so both live in <see cref="EnvRegistry"/> side by side.
/// </summary>
public static class MuJoCoTasks
{
    private const string Dmc = "DeepMind Control on MuJoCo 2.2.2";

    /// <summary>
    /// Every task's spec (dimensions known without loading MuJoCo, so the registry can list them on a machine
    /// without it) and factory. Action repeats follow TD-MPC's configs: cartpole 8, walker 2, others 4.
    /// </summary>
    public static IReadOnlyList<(EnvSpec Spec, Func<IEnv> Factory)> All { get; } =
    [
        (Spec("mujoco/pendulum-swingup", 3, 1, 4, "swing a pendulum up and hold it"), () => new PendulumSwingUp()),
        (Spec("mujoco/cartpole-swingup", 5, 1, 8, "swing up and balance a pole on a cart"), () => new CartpoleSwingUp(sparse: false)),
        (Spec("mujoco/cartpole-swingup-sparse", 5, 1, 8, "cartpole swing-up, sparse reward"), () => new CartpoleSwingUp(sparse: true)),
        (Spec("mujoco/acrobot-swingup", 6, 1, 4, "swing the acrobot's tip to the target"), () => new AcrobotSwingUp(sparse: false)),
        (Spec("mujoco/reacher-easy", 6, 2, 4, "two-link arm reaches a large target"), () => new Reacher(hard: false)),
        (Spec("mujoco/reacher-hard", 6, 2, 4, "two-link arm reaches a small target"), () => new Reacher(hard: true)),
        (Spec("cheetah-run", 17, 6, 4, "planar half-cheetah runs forward"), () => new CheetahRun()),
        (Spec("walker-stand", 24, 6, 2, "planar biped stands up"), PlanarWalker.Stand),
        (Spec("walker-walk", 24, 6, 2, "planar biped walks at 1 m/s"), PlanarWalker.Walk),
        (Spec("walker-run", 24, 6, 2, "planar biped runs at 8 m/s"), PlanarWalker.Run),
        (Spec("hopper-stand", 15, 4, 4, "one-legged hopper stands up"), () => new HopperStand(hopping: false)),
        (Spec("hopper-hop", 15, 4, 4, "one-legged hopper hops forward at 2 m/s"), () => new HopperStand(hopping: true)),
        (Spec("finger-spin", 9, 2, 4, "spin the hinged body with a two-link finger"), () => new Finger(Finger.Variant.Spin)),
        (Spec("finger-turn-easy", 12, 2, 4, "turn the body's tip to a large target"), () => new Finger(Finger.Variant.TurnEasy)),
        (Spec("finger-turn-hard", 12, 2, 4, "turn the body's tip to a small target"), () => new Finger(Finger.Variant.TurnHard)),
        (Spec("cup-catch", 8, 2, 4, "swing a tethered ball into a cup"), () => new BallInCupCatch()),
        (Spec("quadruped-walk", 78, 12, 4, "four-legged walker moves forward at 0.5 m/s"), QuadrupedMove.Walk),
        (Spec("quadruped-run", 78, 12, 4, "four-legged walker runs at 5 m/s"), QuadrupedMove.Run),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(t => t.Spec.Name).ToArray();

    /// <summary>Makes the named task (raw, no wrappers); throws listing the known names when it is unknown.</summary>
    public static IEnv Make(string name)
    {
        foreach (var (spec, factory) in All)
            if (spec.Name == name) return factory();
        throw new KeyNotFoundException($"MuJoCoTasks.Make: unknown task '{name}'; known: {string.Join(", ", Names)}");
    }

    private static EnvSpec Spec(string name, int observation, int action, int repeat, string description) =>
        new(name, EnvSpec.MuJoCo, observation, action, 1000, repeat, $"{Dmc}: {description}");
}
