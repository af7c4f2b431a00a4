using DiffTori.TrajOpt;

namespace DiffTori.TrajOpt.Tests;

/// <summary>LaneSums must add exactly as Vector512.Sum does: the kernels mix the two and promise the same bits.</summary>
public class LaneSumsTests
{
    [Fact]
    public void EachLaneHasTheBitsOfVector512Sum()
    {
        if (!LaneSums.IsSupported) return; // only the AVX-512 kernels use it
        var rng = new System.Random(7);
        for (int trial = 0; trial < 2000; trial++)
        {
            var v = new System.Runtime.Intrinsics.Vector512<float>[16];
            for (int i = 0; i < 16; i++)
            {
                // Magnitudes over many binades, so that a different order of additions rounds differently.
                var lanes = new float[16];
                for (int l = 0; l < 16; l++) lanes[l] = (float)((2 * rng.NextDouble() - 1) * Math.Pow(2, rng.Next(-30, 30)));
                v[i] = System.Runtime.Intrinsics.Vector512.Create(lanes);
            }
            var all = LaneSums.Of16(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]);
            var eight = LaneSums.Of8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
            for (int i = 0; i < 16; i++)
            {
                float expected = System.Runtime.Intrinsics.Vector512.Sum(v[i]);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(all[i]));
                if (i < 8) Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(eight[i]));
            }
        }
    }
}
