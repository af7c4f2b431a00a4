using System.Runtime.InteropServices;

namespace DiffTori.Envs.MuJoCo.Native;

/// <summary>
/// Loads Debian's libmujoco 2.2.2 once and exposes its C functions as unmanaged function pointers
/// (a direct call: no delegate, no marshalling stub, so mj_step through the binding costs what the C call costs).
/// </summary>
internal static unsafe class MuJoCoLibrary
{
    public const string LibraryName = "libmujoco.so.2.2.2";
    public const string InstallHint = "install it with: sudo apt-get install -y libmujoco2.2.2 (Debian/Ubuntu)";

    private static readonly Lazy<Exports?> Loaded = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);
    private static string _loadError = "";

    /// <summary>True when the library is installed and reports version 2.2.2.</summary>
    public static bool IsAvailable => Loaded.Value is not null;

    /// <summary>Why the library could not be used ("" when it can).</summary>
    public static string UnavailableReason => IsAvailable ? "" : _loadError;

    /// <summary>The functions; throws a clear error when MuJoCo 2.2.2 is missing.</summary>
    public static Exports Api => Loaded.Value ?? throw new DllNotFoundException(_loadError);

    public sealed class Exports
    {
        public delegate* unmanaged<int> Version;
        public delegate* unmanaged<byte*, IntPtr, byte*, int, IntPtr> LoadXml;
        public delegate* unmanaged<IntPtr, IntPtr> MakeData;
        public delegate* unmanaged<IntPtr, IntPtr, void> ResetData;
        public delegate* unmanaged<IntPtr, IntPtr, void> Step;
        public delegate* unmanaged<IntPtr, IntPtr, void> Step1;
        public delegate* unmanaged<IntPtr, IntPtr, void> Step2;
        public delegate* unmanaged<IntPtr, IntPtr, void> Forward;
        public delegate* unmanaged<IntPtr, int, byte*, int> Name2Id;
        public delegate* unmanaged<IntPtr, void> DeleteData;
        public delegate* unmanaged<IntPtr, void> DeleteModel;
    }

    private static Exports? TryLoad()
    {
        if (!OperatingSystem.IsLinux())
        {
            _loadError = $"MuJoCo binding: {LibraryName} is only supported on Linux here; {InstallHint}";
            return null;
        }
        if (!NativeLibrary.TryLoad(LibraryName, out var handle))
        {
            _loadError = $"MuJoCo binding: could not load {LibraryName}; {InstallHint}";
            return null;
        }
        var e = new Exports
        {
            Version = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "mj_version"),
            LoadXml = (delegate* unmanaged<byte*, IntPtr, byte*, int, IntPtr>)NativeLibrary.GetExport(handle, "mj_loadXML"),
            MakeData = (delegate* unmanaged<IntPtr, IntPtr>)NativeLibrary.GetExport(handle, "mj_makeData"),
            ResetData = (delegate* unmanaged<IntPtr, IntPtr, void>)NativeLibrary.GetExport(handle, "mj_resetData"),
            Step = (delegate* unmanaged<IntPtr, IntPtr, void>)NativeLibrary.GetExport(handle, "mj_step"),
            Step1 = (delegate* unmanaged<IntPtr, IntPtr, void>)NativeLibrary.GetExport(handle, "mj_step1"),
            Step2 = (delegate* unmanaged<IntPtr, IntPtr, void>)NativeLibrary.GetExport(handle, "mj_step2"),
            Forward = (delegate* unmanaged<IntPtr, IntPtr, void>)NativeLibrary.GetExport(handle, "mj_forward"),
            Name2Id = (delegate* unmanaged<IntPtr, int, byte*, int>)NativeLibrary.GetExport(handle, "mj_name2id"),
            DeleteData = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(handle, "mj_deleteData"),
            DeleteModel = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(handle, "mj_deleteModel"),
        };
        int version = e.Version();
        if (version != MjConstants.ExpectedVersion)
        {
            _loadError = $"MuJoCo binding: {LibraryName} reports mj_version() = {version}, expected {MjConstants.ExpectedVersion} " +
                         "(the struct offsets in MjLayout.cs are for 2.2.2 only)";
            return null;
        }
        return e;
    }
}
