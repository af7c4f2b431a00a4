using System.Runtime.CompilerServices;

namespace DiffTori.Engine;

/// <summary>
/// Counter-based random fills: element i of y is exactly <see cref="PhiloxDraws"/>.X(seed, counter + i, ...),
/// Float32 getting (float) of the double, so any device that calls the same functions gives the same numbers.
/// </summary>
public sealed partial class CpuBackend
{
    public void RandomUniform(Tensor y, ulong seed, ulong counter, double low, double high) =>
        RandomFill.Run(y, new RandomFill.Uniform { Seed = seed, Counter = counter, Low = low, High = high });

    public void RandomNormal(Tensor y, ulong seed, ulong counter, double mean, double std) =>
        RandomFill.Run(y, new RandomFill.Normal { Seed = seed, Counter = counter, Mean = mean, Std = std });

    public void RandomTruncatedNormal(Tensor y, ulong seed, ulong counter, double mean, double std, double low, double high) =>
        RandomFill.Run(y, new RandomFill.TruncatedNormal { Seed = seed, Counter = counter, Mean = mean, Std = std, Low = low, High = high });

    public void RandomIntegers(Tensor y, ulong seed, ulong counter, int low, int high) =>
        RandomFill.RunIntegers(y, seed, counter, low, high);
}

/// <summary>
/// One random number per counter for each distribution the random kernels offer: the <see cref="Philox"/>
/// standard draw followed by its affine map. Every backend's kernel is y[i] = (dtype) Draw(seed, counter + i, ...),
/// so these are the single definition of the numbers (plain Math calls, so ILGPU can compile them).
/// </summary>
public static class PhiloxDraws
{
    public static double Uniform(ulong seed, ulong counter, double low, double high) =>
        low + (high - low) * Philox.Uniform01(seed, counter);

    public static double Normal(ulong seed, ulong counter, double mean, double std) =>
        mean + std * Philox.Normal(seed, counter);

    /// <summary>Normal(mean, std) within the absolute bounds [low, high]; the clamp only absorbs rounding.</summary>
    public static double TruncatedNormal(ulong seed, ulong counter, double mean, double std, double low, double high)
    {
        double z = Philox.TruncatedNormal(seed, counter, (low - mean) / std, (high - mean) / std);
        return Math.Min(Math.Max(mean + std * z, low), high);
    }
}

/// <summary>
/// Fills a contiguous tensor with y[i] = draw(counter + i), in parallel chunks when it is large.
/// Each element's counter depends only on i, so the numbers do not depend on how the work is split.
/// </summary>
internal static class RandomFill
{
    public interface IDraw
    {
        double At(ulong i);
    }

    public struct Uniform : IDraw
    {
        public ulong Seed, Counter;
        public double Low, High;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly double At(ulong i) => PhiloxDraws.Uniform(Seed, Counter + i, Low, High);
    }

    public struct Normal : IDraw
    {
        public ulong Seed, Counter;
        public double Mean, Std;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly double At(ulong i) => PhiloxDraws.Normal(Seed, Counter + i, Mean, Std);
    }

    public struct TruncatedNormal : IDraw
    {
        public ulong Seed, Counter;
        public double Mean, Std, Low, High;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly double At(ulong i) => PhiloxDraws.TruncatedNormal(Seed, Counter + i, Mean, Std, Low, High);
    }

    /// <summary>Elements per parallel chunk; with one chunk everything runs inline.</summary>
    private const int ChunkSize = 1 << 14;

    public static void Run<TDraw>(Tensor y, TDraw draw) where TDraw : struct, IDraw
    {
        int chunks = (y.Length + ChunkSize - 1) / ChunkSize;
        var job = new FillJob<TDraw> { Draw = draw, Offset = y.Offset, Length = y.Length };
        if (y.DType == DType.Float32) job.Single = y.CpuArray<float>();
        else job.Double = y.CpuArray<double>();
        // A Philox block costs some tens of operations: count that as the work per element.
        BatchLoop.Run(chunks, (long)y.Length * 32, job);
    }

    public static void RunIntegers(Tensor y, ulong seed, ulong counter, int low, int high)
    {
        int chunks = (y.Length + ChunkSize - 1) / ChunkSize;
        var job = new IntegerJob { Values = y.CpuArray<int>(), Offset = y.Offset, Length = y.Length, Seed = seed, Counter = counter, Low = low, High = high };
        BatchLoop.Run(chunks, (long)y.Length * 32, job);
    }

    private struct IntegerJob : IBatchJob
    {
        public int[] Values;
        public int Offset, Length, Low, High;
        public ulong Seed, Counter;

        public readonly void Run(int chunk)
        {
            int start = chunk * ChunkSize, end = Math.Min(start + ChunkSize, Length);
            var y = Values.AsSpan(Offset, Length);
            for (int i = start; i < end; i++) y[i] = Philox.Integer(Seed, Counter + (ulong)i, Low, High);
        }
    }

    private struct FillJob<TDraw> : IBatchJob where TDraw : struct, IDraw
    {
        public TDraw Draw;
        public float[]? Single;
        public double[]? Double;
        public int Offset, Length;

        public readonly void Run(int chunk)
        {
            int start = chunk * ChunkSize, end = Math.Min(start + ChunkSize, Length);
            if (Single is not null)
            {
                var y = Single.AsSpan(Offset, Length);
                for (int i = start; i < end; i++) y[i] = (float)Draw.At((ulong)i);
            }
            else
            {
                var y = Double!.AsSpan(Offset, Length);
                for (int i = start; i < end; i++) y[i] = Draw.At((ulong)i);
            }
        }
    }
}
