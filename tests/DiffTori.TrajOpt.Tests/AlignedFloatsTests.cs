using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

/// <summary>AlignedFloats hands out spans that start on a 64-byte boundary, whatever their length.</summary>
public class AlignedFloatsTests
{
    [Fact]
    public unsafe void AlignedBuffersStartOnACacheLine()
    {
        foreach (int n in new[] { 1, 15, 16, 17, 1000, 28672, 262144 })
        {
            var a = new AlignedFloats(n);
            Assert.Equal(n, a.Span.Length);
            fixed (float* p = a.Span) Assert.Equal(0, (long)p % 64);
        }
    }
}
