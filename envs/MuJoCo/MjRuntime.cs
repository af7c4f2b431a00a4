using DiffTori.Envs.MuJoCo.Native;

namespace DiffTori.Envs.MuJoCo;

/// <summary>Whether the MuJoCo 2.2.2 backend can run on this machine, and why not.</summary>
public static class MjRuntime
{
    public static bool IsAvailable => MuJoCoLibrary.IsAvailable;
    public static string UnavailableReason => MuJoCoLibrary.UnavailableReason;
    public static string LibraryName => MuJoCoLibrary.LibraryName;
}
