using System.Globalization;
using DiffTori.Envs;
using DiffTori.Envs.Wrappers;

namespace DiffTori.Cli;

/// <summary>
/// `difftori envs list`: the registry as a table. `difftori envs rollout NAME [--episodes N] [--seed S] [--backend B]`: random-policy
/// episodes with the task's default action repeat, printing each return and length.
/// </summary>
public static class EnvsCommand
{
    const string Usage = "usage: difftori envs list | difftori envs rollout NAME [--episodes N] [--seed S] [--backend B]";

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "envs") args = args[1..];
        if (args.Length == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        try
        {
            return args[0] switch
            {
                "list" => List(),
                "rollout" when args.Length >= 2 => Rollout(args[1], args[2..]),
                _ => Fail(Usage),
            };
        }
        catch (ArgumentException e)
        {
            return Fail($"difftori envs: {e.Message}");
        }
    }

    static int List()
    {
        var specs = EnvRegistry.Specs;
        int width = Math.Max(4, specs.Max(s => s.Name.Length));
        Console.WriteLine($"{"name".PadRight(width)}  {"backend",-8} {"obs",4} {"act",4} {"episode",8} {"repeat",6}  description");
        foreach (var s in specs)
            Console.WriteLine($"{s.Name.PadRight(width)}  {s.Backend,-8} {s.ObservationDimension,4} {s.ActionDimension,4} {s.EpisodeLength,8} {s.ActionRepeat,6}  {s.Description}");
        return 0;
    }

    static int Rollout(string name, string[] options)
    {
        int episodes = 1, seed = 0;
        string? backend = null;
        for (int i = 0; i < options.Length; i++)
        {
            if (i + 1 >= options.Length) return Fail($"difftori envs rollout: option '{options[i]}' needs a value");
            switch (options[i])
            {
                case "--episodes": episodes = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(options[++i], CultureInfo.InvariantCulture); break;
                case "--backend": backend = options[++i]; break;
                default: return Fail($"difftori envs rollout: unknown option '{options[i]}'");
            }
        }
        using var env = EnvRegistry.MakeForTraining(name, backend);
        var stats = EnvWrapper.Find<EpisodeStatistics>(env)!;
        var rng = new Random(seed);
        var action = new double[env.ActionSpace.Dimension];
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(seed + e);
            StepResult r;
            do
            {
                for (int i = 0; i < action.Length; i++) action[i] = rng.NextDouble() * 2 - 1;
                r = env.Step(action);
            } while (!r.Done);
            var last = stats.LastEpisode!.Value;
            Console.WriteLine($"{name} ({EnvRegistry.Spec(name, backend).Backend}) episode {e}: return {last.Return.ToString("F2", CultureInfo.InvariantCulture)}, length {last.Length}");
        }
        return 0;
    }

    static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}
