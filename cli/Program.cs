namespace DiffTori.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length >= 1 && args[0] == "bench") return DiffTori.Bench.BenchCommand.Run(args[1..]);
        Console.Error.WriteLine("usage: difftori bench <suite>");
        return 2;
    }
}
