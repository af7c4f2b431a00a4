namespace DiffTori.Cli;

/// <summary>The `difftori` command: one verb per layer that a user drives from the shell.</summary>
public static class Program
{
    private const string Usage = """
        usage: difftori <verb> ...
          envs list                         the registered environments
          envs rollout NAME [--episodes N]  random-policy episodes of one task
          rl train|eval|compare ...         train and evaluate RL agents (difftori rl --help)
          bench <suite>                     benchmarks against PyTorch (suites: engine, envs, ...)
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Error.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        return args[0] switch
        {
            "bench" => DiffTori.Bench.BenchCommand.Run(args[1..]),
            "envs" => EnvsCommand.Run(args[1..]),
            "rl" => RlCommand.Run(args[1..]),
            _ => Unknown(args[0]),
        };
    }

    private static int Unknown(string verb)
    {
        Console.Error.WriteLine($"difftori: unknown verb '{verb}'\n{Usage}");
        return 2;
    }
}
