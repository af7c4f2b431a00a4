using System.Diagnostics;
using DiffTori.Envs.MuJoCo;
using DiffTori.Envs.MuJoCo.Models;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>
/// The resident-memory measurement reads the whole process, so it runs alone, after the parallel tests: another
/// test allocating meanwhile moves it (this test failed once in a full run and passed alone three times).
/// </summary>
[CollectionDefinition("ProcessMemory", DisableParallelization = true)]
public class ProcessMemoryCollection;

/// <summary>Native models and data are freed: creating and disposing many of them does not grow the process.</summary>
[Collection("ProcessMemory")]
public class MjLifetimeTests
{
    [MuJoCoFact]
    public void DisposingModelsAndDataReturnsTheirNativeMemory()
    {
        string xml = MuJoCoModels.Xml("walker");
        // Calibrate: how much one model + data pair costs while alive.
        long before = ResidentBytes();
        var kept = new List<(MjModel, MjData)>();
        for (int i = 0; i < 20; i++)
        {
            var m = MjModel.FromXml(xml);
            kept.Add((m, m.MakeData()));
        }
        long perPair = (ResidentBytes() - before) / kept.Count;
        foreach (var (m, d) in kept) { d.Dispose(); m.Dispose(); }
        Assert.True(perPair > 100_000, $"calibration: a live model+data should cost well over 100 kB, measured {perPair} B");

        long start = ResidentBytes();
        const int pairs = 100;
        for (int i = 0; i < pairs; i++)
        {
            using var m = MjModel.FromXml(xml);
            using var d = m.MakeData();
            d.Step();
        }
        long growth = ResidentBytes() - start;
        // A leak of every pair would grow the process by pairs·perPair; allow a tenth of that for allocator slack.
        Assert.True(growth < pairs * perPair / 10, $"grew {growth / 1e6:F1} MB over {pairs} pairs of {perPair / 1e6:F2} MB each");
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.WorkingSet64;
    }
}
