using DiffTori.Envs.Tasks.Dmc;
using DiffTori.Envs.Tasks.Gym;
using DiffTori.Envs.Wrappers;

namespace DiffTori.Envs;

/// <summary>
/// Tasks by name. The managed tasks are always present; native backends add theirs by implementing the
/// partial method <see cref="RegisterNativeTasks"/> in their own file (or by calling <see cref="Register"/>).
/// One name may have several backends (e.g. "cartpole-swingup" managed and mujoco): the first registered is
/// the default, the others are picked with the <c>backend</c> argument.
/// </summary>
/// <remarks>
/// Default action repeats follow TD-MPC's configs (cfgs/tasks: cartpole 8, walker 2, every other domain 4);
/// Gymnasium tasks use 1, as they are defined per step.
/// </remarks>
public static partial class EnvRegistry
{
    static readonly object Gate = new();
    static readonly Dictionary<string, List<(EnvSpec Spec, Func<IEnv> Factory)>> Entries = new(StringComparer.Ordinal);
    static readonly List<string> Order = [];

    static EnvRegistry()
    {
        const string dmc = "DeepMind Control";
        Register(new EnvSpec("pendulum-swingup", EnvSpec.Managed, 3, 1, 1000, 4, $"{dmc}: swing a pendulum up and hold it"), () => new PendulumSwingup());
        Register(new EnvSpec("cartpole-swingup", EnvSpec.Managed, 5, 1, 1000, 8, $"{dmc}: swing up and balance a pole on a cart"), () => new CartpoleSwingup(sparse: false));
        Register(new EnvSpec("cartpole-swingup-sparse", EnvSpec.Managed, 5, 1, 1000, 8, $"{dmc}: cartpole swing-up, sparse reward"), () => new CartpoleSwingup(sparse: true));
        Register(new EnvSpec("acrobot-swingup", EnvSpec.Managed, 6, 1, 1000, 4, $"{dmc}: swing the acrobot's tip to the target"), () => new AcrobotSwingup());
        Register(new EnvSpec("reacher-easy", EnvSpec.Managed, 6, 2, 1000, 4, $"{dmc}: two-link arm reaches a large target"), () => new Reacher(hard: false));
        Register(new EnvSpec("reacher-hard", EnvSpec.Managed, 6, 2, 1000, 4, $"{dmc}: two-link arm reaches a small target"), () => new Reacher(hard: true));
        Register(new EnvSpec("point_mass-easy", EnvSpec.Managed, 4, 2, 1000, 4, $"{dmc}: push a point mass to the centre"), () => new PointMassEasy());
        Register(new EnvSpec("Pendulum-v1", EnvSpec.Managed, 3, 1, GymPendulum.EpisodeSteps, 1, "Gymnasium: classic pendulum swing-up (negative cost reward)"), () => new GymPendulum());
        Register(new EnvSpec("MountainCarContinuous-v0", EnvSpec.Managed, 2, 1, MountainCarContinuous.EpisodeSteps, 1, "Gymnasium: drive an underpowered car up a hill"), () => new MountainCarContinuous());
        RegisterNativeTasks();
    }

    /// <summary>Implemented by a native backend (e.g. envs/MuJoCo) to call <see cref="Register"/> for its tasks.</summary>
    static partial void RegisterNativeTasks();

    /// <summary>Adds a task. Throws if the (name, backend) pair is taken or the spec is malformed.</summary>
    public static void Register(EnvSpec spec, Func<IEnv> factory)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(factory);
        if (string.IsNullOrWhiteSpace(spec.Name)) throw new ArgumentException("EnvRegistry.Register: empty task name.");
        if (spec.ActionRepeat < 1 || spec.EpisodeLength < 1 || spec.ObservationDimension < 1 || spec.ActionDimension < 1)
            throw new ArgumentException($"EnvRegistry.Register: '{spec.Name}' has a non-positive dimension, episode length or action repeat: {spec}.");
        lock (Gate)
        {
            if (!Entries.TryGetValue(spec.Name, out var backends))
            {
                Entries[spec.Name] = backends = [];
                Order.Add(spec.Name);
            }
            if (backends.Any(b => b.Spec.Backend == spec.Backend))
                throw new ArgumentException($"EnvRegistry.Register: task '{spec.Name}' already has a '{spec.Backend}' backend.");
            backends.Add((spec, factory));
        }
    }

    /// <summary>Every registered name (once, whatever its backends), in registration order.</summary>
    public static IReadOnlyList<string> Names
    {
        get { lock (Gate) return Order.ToArray(); }
    }

    /// <summary>Every (name, backend) spec, grouped by name in registration order, default backend first.</summary>
    public static IReadOnlyList<EnvSpec> Specs
    {
        get { lock (Gate) return Order.SelectMany(n => Entries[n].Select(b => b.Spec)).ToArray(); }
    }

    public static bool Contains(string name, string? backend = null)
    {
        lock (Gate)
            return Entries.TryGetValue(name, out var backends) && (backend is null || backends.Any(b => b.Spec.Backend == backend));
    }

    /// <summary>The spec of <paramref name="name"/> for <paramref name="backend"/> (null = the default backend).</summary>
    public static EnvSpec Spec(string name, string? backend = null) => Lookup(name, backend).Spec;

    /// <summary>
    /// Builds a task. actionRepeat: 1 = raw steps, null = the task's default repeat; timeLimit caps the
    /// episode in (repeated) agent steps; recordStatistics adds <see cref="EpisodeStatistics"/> outermost.
    /// </summary>
    public static IEnv Make(string name, int? actionRepeat = 1, int? timeLimit = null, bool recordStatistics = false, string? backend = null)
    {
        var (spec, factory) = Lookup(name, backend);
        IEnv env = factory();
        if (env.Name != spec.Name || env.ObservationSpace.Dimension != spec.ObservationDimension || env.ActionSpace.Dimension != spec.ActionDimension)
            throw new InvalidOperationException(
                $"EnvRegistry.Make: '{name}' built an env ({env.Name}, obs {env.ObservationSpace.Dimension}, act {env.ActionSpace.Dimension}) that does not match its spec {spec}.");
        int repeat = actionRepeat ?? spec.ActionRepeat;
        if (repeat > 1) env = new ActionRepeat(env, repeat);
        if (timeLimit is int limit) env = new TimeLimit(env, limit);
        if (recordStatistics) env = new EpisodeStatistics(env);
        return env;
    }

    /// <summary>The task as the trainer uses it: default action repeat and episode statistics.</summary>
    public static IEnv MakeForTraining(string name, string? backend = null) =>
        Make(name, actionRepeat: null, recordStatistics: true, backend: backend);

    static (EnvSpec Spec, Func<IEnv> Factory) Lookup(string name, string? backend)
    {
        lock (Gate)
        {
            if (!Entries.TryGetValue(name, out var backends))
                throw new ArgumentException($"EnvRegistry: unknown task '{name}'. Known tasks: {string.Join(", ", Order)}.");
            if (backend is null) return backends[0];
            foreach (var b in backends)
                if (b.Spec.Backend == backend) return b;
            throw new ArgumentException(
                $"EnvRegistry: task '{name}' has no '{backend}' backend (it has: {string.Join(", ", backends.Select(b => b.Spec.Backend))}).");
        }
    }
}
