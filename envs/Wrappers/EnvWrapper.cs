namespace DiffTori.Envs.Wrappers;

/// <summary>An env around another env; by default everything passes through.</summary>
public abstract class EnvWrapper(IEnv inner) : IEnv
{
    public IEnv Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));
    public virtual string Name => Inner.Name;
    public virtual BoxSpace ObservationSpace => Inner.ObservationSpace;
    public virtual BoxSpace ActionSpace => Inner.ActionSpace;
    public virtual int MaxEpisodeSteps => Inner.MaxEpisodeSteps;
    public virtual double[] Reset(int seed) => Inner.Reset(seed);
    public virtual StepResult Step(ReadOnlySpan<double> action) => Inner.Step(action);
    public void Dispose() => Inner.Dispose();

    /// <summary>The outermost env in the chain that is a <typeparamref name="T"/>, or null.</summary>
    public static T? Find<T>(IEnv env) where T : class
    {
        for (IEnv? e = env; e is not null; e = (e as EnvWrapper)?.Inner)
            if (e is T t) return t;
        return null;
    }
}
