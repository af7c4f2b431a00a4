using DiffTori.Envs.MuJoCo;

namespace DiffTori.Envs;

public static partial class EnvRegistry
{
    /// <summary>Adds the MuJoCo tasks. They are listed even without libmujoco; building one then throws the install hint.</summary>
    static partial void RegisterNativeTasks()
    {
        foreach (var (spec, factory) in MuJoCoTasks.All)
            Register(spec, () => MjRuntime.IsAvailable ? factory() : throw new DllNotFoundException(MjRuntime.UnavailableReason));
    }
}
