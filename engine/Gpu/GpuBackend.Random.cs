using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Counter-based random numbers: element i is a pure function of (seed, counter + i) computed by the
// same Philox/PhiloxDraws functions the CPU backend calls, in double, then rounded to the element type, so both
// backends produce the same numbers.
public sealed partial class GpuBackend
{
    private const int DrawUniform = 0, DrawNormal = 1, DrawTruncatedNormal = 2;

    public void RandomUniform(Tensor y, ulong seed, ulong counter, double low, double high) =>
        Draw(y, new RandomArgs(seed, counter, DrawUniform, low, high, 0, 0, y.Offset));

    public void RandomNormal(Tensor y, ulong seed, ulong counter, double mean, double std) =>
        Draw(y, new RandomArgs(seed, counter, DrawNormal, mean, std, 0, 0, y.Offset));

    public void RandomTruncatedNormal(Tensor y, ulong seed, ulong counter, double mean, double std, double low, double high) =>
        Draw(y, new RandomArgs(seed, counter, DrawTruncatedNormal, mean, std, low, high, y.Offset));

    public void RandomIntegers(Tensor y, ulong seed, ulong counter, int low, int high)
    {
        if (y.Length == 0) return;
        _any.RandomIntegers(y.Length, ViewOf<int>(y), new RandomArgs(seed, counter, 0, low, high, 0, 0, y.Offset));
    }

    private void Draw(Tensor y, in RandomArgs args)
    {
        RequireFloat("Random", y);
        if (y.Length == 0) return;
        if (y.DType == DType.Float32) _f32.Random(y.Length, ViewOf<float>(y), args);
        else _f64.Random(y.Length, ViewOf<double>(y), args);
    }

    internal readonly struct RandomArgs(ulong seed, ulong counter, int kind, double p0, double p1, double p2, double p3, int offset)
    {
        public readonly ulong Seed = seed, Counter = counter;
        public readonly int Kind = kind, Offset = offset;
        public readonly double P0 = p0, P1 = p1, P2 = p2, P3 = p3;
    }

    /// <summary>The value of element i as a double: the draw functions the CPU backend uses too.</summary>
    internal static double RandomValue(in RandomArgs r, int i)
    {
        ulong counter = r.Counter + (ulong)i;
        return r.Kind switch
        {
            DrawUniform => PhiloxDraws.Uniform(r.Seed, counter, r.P0, r.P1),
            DrawNormal => PhiloxDraws.Normal(r.Seed, counter, r.P0, r.P1),
            _ => PhiloxDraws.TruncatedNormal(r.Seed, counter, r.P0, r.P1, r.P2, r.P3),
        };
    }

    private static void RandomKernel<T, TNum>(Index1D i, ArrayView<T> y, RandomArgs r)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T> =>
        y[r.Offset + i] = TNum.FromDouble(RandomValue(r, i));

    private static void RandomIntegersKernel(Index1D i, ArrayView<int> y, RandomArgs r) =>
        y[r.Offset + i] = Philox.Integer(r.Seed, r.Counter + (ulong)(int)i, (int)r.P0, (int)r.P1);

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<Index1D, ArrayView<T>, RandomArgs>? _random;

        public Action<Index1D, ArrayView<T>, RandomArgs> Random =>
            _random ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, RandomArgs>(RandomKernel<T, TNum>);
    }

    private sealed partial class AnyKernels
    {
        private Action<Index1D, ArrayView<int>, RandomArgs>? _randomIntegers;

        public Action<Index1D, ArrayView<int>, RandomArgs> RandomIntegers =>
            _randomIntegers ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, RandomArgs>(RandomIntegersKernel);
    }
}
