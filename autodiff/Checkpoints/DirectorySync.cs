using System.Runtime.InteropServices;

namespace DiffTori.Autodiff.Checkpoints;

/// <summary>
/// fsync of a folder on Linux, so that a rename into it survives a power cut (the rename itself lives
/// in the folder's entries, which the file's own fsync does not flush). Best effort: elsewhere, or
/// when the call fails, the rename is still atomic, just not yet durable.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnlyDirectory = 0x10000;   // O_RDONLY | O_DIRECTORY on Linux

    public static void Flush(string folder)
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            int fd = Open(folder, ReadOnlyDirectory);
            if (fd < 0) return;
            try { Fsync(fd); }
            finally { Close(fd); }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No usable libc binding: keep the atomic rename without the extra durability.
        }
    }

    /// <summary>For tests: whether the folder could be opened and flushed.</summary>
    internal static bool TryFlush(string folder)
    {
        int fd = Open(folder, ReadOnlyDirectory);
        if (fd < 0) return false;
        try { return Fsync(fd) == 0; }
        finally { Close(fd); }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
