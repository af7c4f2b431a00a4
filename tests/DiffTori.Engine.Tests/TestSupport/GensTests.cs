using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests;

public class GensTests
{
    [Fact]
    public void BroadcastablePairsReallyBroadcast()
    {
        var pairs = Gens.BroadcastablePair().Sample(50, 7);
        foreach (var (a, b) in pairs) Broadcast.Shapes("test", a, b);
    }

    [Fact]
    public void ShapesStayWithinTheElementBudget()
    {
        foreach (var s in Gens.Shape(maxElements: 1000).Sample(50, 11)) Assert.InRange(s.Length, 0, 1000);
    }
}
