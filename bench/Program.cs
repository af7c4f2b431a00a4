namespace DiffTori.Bench;

public static class Program
{
    public static int Main(string[] args) => BenchCommand.Run(args);
}
