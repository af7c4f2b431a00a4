using DiffTori.Envs.MuJoCo;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>
/// A fact that needs libmujoco 2.2.2 (and optionally the dm_control reference models or gcc with the MuJoCo
/// headers); it is skipped with the reason when they are missing, instead of failing on a machine without them.
/// </summary>
public sealed class MuJoCoFactAttribute : FactAttribute
{
    public MuJoCoFactAttribute(bool needsReference = false, bool needsCompiler = false) =>
        Skip = MuJoCoSkip.Reason(needsReference, needsCompiler);
}

/// <summary>The theory form of <see cref="MuJoCoFactAttribute"/>.</summary>
public sealed class MuJoCoTheoryAttribute : TheoryAttribute
{
    public MuJoCoTheoryAttribute(bool needsReference = false, bool needsCompiler = false) =>
        Skip = MuJoCoSkip.Reason(needsReference, needsCompiler);
}

internal static class MuJoCoSkip
{
    /// <summary>Null when everything needed is present, else the reason to skip.</summary>
    public static string? Reason(bool needsReference, bool needsCompiler)
    {
        if (!MjRuntime.IsAvailable) return MjRuntime.UnavailableReason;
        if (needsReference && TestPaths.ReferenceSuiteDir is null)
            return $"dm_control reference models not found (looked for {TestPaths.ExpectedReferenceDir})";
        if (needsCompiler) return TestPaths.CCompilerMissingReason;
        return null;
    }
}

/// <summary>Paths the MuJoCo tests use, resolved from the test binary up to the repository root.</summary>
public static class TestPaths
{
    /// <summary>The folder holding DiffTori.sln, or null.</summary>
    public static string? RepoRoot { get; } = FindRepoRoot();

    /// <summary>
    /// Where the reference models should be: ../shared/reference/dm_control_suite beside the repository (CI layout);
    /// for a git worktree nested deeper (e.g. /work/wt/NAME) the nearest ancestor's shared/reference is used.
    /// </summary>
    public static string ExpectedReferenceDir { get; } = FindReferenceDir();

    /// <summary>The reference folder when present, else null.</summary>
    public static string? ReferenceSuiteDir =>
        File.Exists(Path.Combine(ExpectedReferenceDir, "pendulum.xml")) ? ExpectedReferenceDir : null;

    private static string FindReferenceDir()
    {
        if (RepoRoot is null) return "../shared/reference/dm_control_suite (repository root with DiffTori.sln not found)";
        string beside = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "reference", "dm_control_suite"));
        for (var dir = Directory.GetParent(RepoRoot); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "reference", "dm_control_suite");
            if (Directory.Exists(candidate)) return candidate;
        }
        return beside;
    }

    public static string Reference(string file) =>
        Path.Combine(ReferenceSuiteDir ?? throw new DirectoryNotFoundException(ExpectedReferenceDir), file);

    /// <summary>Null when gcc and /usr/include/mujoco/mujoco.h are present, else why not.</summary>
    public static string? CCompilerMissingReason
    {
        get
        {
            if (FindOnPath("gcc") is null) return "gcc is not installed (needed to compile the offsetof check)";
            if (!File.Exists("/usr/include/mujoco/mujoco.h"))
                return "MuJoCo headers missing: sudo apt-get install -y libmujoco-dev";
            return null;
        }
    }

    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    private static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DiffTori.sln"))) return dir.FullName;
        return null;
    }
}
