namespace DiffTori.Bench;

/// <summary>Entry point shared by `dotnet run --project bench -- SUITE` and `difftori bench SUITE`.</summary>
public static class BenchCommand
{
    /// <summary>Each suite by name: runs its workloads, prints a table, writes bench/results/NAME.json.</summary>
    public static readonly IReadOnlyDictionary<string, Func<string[], int>> Suites = new Dictionary<string, Func<string[], int>>
    {
        // Suites register here, one line each.
        ["engine"] = EngineSuite.Run,
        ["envs"] = EnvsSuite.Run,
        ["autodiff"] = AutodiffSuite.Run,
        ["trajopt"] = TrajOptSuite.Run,
        ["gpu"] = GpuSuite.Run,
        ["rl"] = RlSuite.Run,
    };

    public static int Run(string[] args)
    {
        if (args.Length == 0 || !Suites.TryGetValue(args[0], out var suite))
        {
            Console.Error.WriteLine($"usage: bench <suite> [options]; suites: {string.Join(", ", Suites.Keys)}");
            return 2;
        }
        return suite(args[1..]);
    }
}
