using System.Reflection;

namespace DiffTori.Envs.MuJoCo.Models;

/// <summary>The project's own MJCF models, embedded in the assembly (Models/*.xml).</summary>
public static class MuJoCoModels
{
    /// <summary>Names of the embedded models (file names without ".xml").</summary>
    public static IReadOnlyList<string> Names { get; } = typeof(MuJoCoModels).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".xml", StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..^4]).OrderBy(n => n, StringComparer.Ordinal).ToArray();

    private const string Prefix = "DiffTori.Envs.MuJoCo.Models.";

    /// <summary>The MJCF text of a model, e.g. Xml("cheetah").</summary>
    public static string Xml(string name)
    {
        Assembly assembly = typeof(MuJoCoModels).Assembly;
        using Stream? stream = assembly.GetManifestResourceStream(Prefix + name + ".xml");
        if (stream is null)
            throw new KeyNotFoundException($"MuJoCoModels.Xml: no embedded model '{name}'; known: {string.Join(", ", Names)}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
