using System.Diagnostics;
using DiffTori.Engine;
using FsCheck;
using FsCheck.Fluent;

namespace DiffTori.Engine.Tests.Parallel;

/// <summary>
/// The worker pool's hand-off: whatever the timing (a caller part much longer or shorter than the workers',
/// so that workers finish late, early, or are taken back before they start), every part of every call runs
/// exactly once, a worker's exception reaches the caller, and the pool keeps working afterwards.
/// </summary>
public class CpuParallelTests
{
    /// <summary>Counts the runs of each part; part p busy-waits spins[p] ticks first.</summary>
    private sealed class CountingWork : IParallelWork
    {
        public int[] Runs = new int[CpuParallel.Threads];
        public long[] Spins = new long[CpuParallel.Threads];
        public int ThrowingPart = -1;

        public void Execute(int part, int parts)
        {
            long start = Stopwatch.GetTimestamp();
            while (Stopwatch.GetTimestamp() - start < Spins[part]) { }
            Interlocked.Increment(ref Runs[part]);
            if (part == ThrowingPart) throw new InvalidOperationException($"part {part} failed");
        }
    }

    [Fact]
    public void EveryPartRunsExactlyOnceWhateverTheTiming()
    {
        // Spins up to 3 µs per part, so callers and workers finish in every order (and near the 1 µs grace).
        var gen = from parts in Gen.Choose(1, CpuParallel.Threads + 1)
                  from spins in Gen.ArrayOf(Gen.Choose(0, 3000), CpuParallel.Threads)
                  from small in Gen.Elements(false, true)
                  from calls in Gen.Choose(1, 30)
                  select (parts, spins, small, calls);
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var work = new CountingWork();
            for (int p = 0; p < work.Spins.Length; p++) work.Spins[p] = x.spins[p] * Stopwatch.Frequency / 1_000_000_000;
            for (int call = 0; call < x.calls; call++)
            {
                if (x.small) CpuParallel.RunSmall(work, x.parts);
                else CpuParallel.Run(work, x.parts);
            }
            int used = Math.Min(x.parts, CpuParallel.Threads);
            for (int p = 0; p < work.Runs.Length; p++)
                Assert.True(work.Runs[p] == (p < used ? x.calls : 0),
                    $"part {p} of {x.parts} ran {work.Runs[p]} times in {x.calls} calls (small={x.small})");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void WorkerExceptionReachesTheCallerAndThePoolRecovers()
    {
        if (CpuParallel.Threads < 2) return;
        var work = new CountingWork { ThrowingPart = 1 };
        // The worker's part is long, so the worker (not the caller taking it back) is the one that throws.
        work.Spins[1] = Stopwatch.Frequency / 20_000; // 50 µs
        for (int call = 0; call < 5; call++)
        {
            var e = Assert.Throws<InvalidOperationException>(() => CpuParallel.Run(work, 2));
            Assert.Equal("part 1 failed", e.Message);
        }
        Assert.Equal(5, work.Runs[0]);
        Assert.Equal(5, work.Runs[1]);

        var healthy = new CountingWork();
        for (int call = 0; call < 10; call++) CpuParallel.Run(healthy, 2);
        Assert.Equal(10, healthy.Runs[0]);
        Assert.Equal(10, healthy.Runs[1]);
    }
}
