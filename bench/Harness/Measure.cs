using System.Diagnostics;

namespace DiffTori.Bench.Harness;

/// <summary>What one workload cost: median seconds per call and managed bytes allocated per call.</summary>
public readonly record struct Measurement(double MedianSeconds, double AllocatedBytesPerCall, int Calls);

/// <summary>
/// Times a workload the simple, robust way: warm up (JIT, pools, caches), then run it in batches,
/// each batch long enough (~5 ms) for the clock to be precise, and report the median per-call time
/// over the batches. Allocation is measured on the calling thread only
/// (GC.GetAllocatedBytesForCurrentThread), so it shows the op's own steady-state garbage.
/// </summary>
public static class Measure
{
    /// <summary>Run <paramref name="body"/> for about <paramref name="budgetSeconds"/> and measure it.</summary>
    public static Measurement Run(Action body, double budgetSeconds = 1.5)
    {
        // Warm-up: at least 3 calls and 0.5 s (or a quarter of the budget), so that tiered JIT has promoted
        // the code to its optimized tier (it waits ~100 ms after the last new method, then ~30 calls). A method
        // the workload calls once per call needs those 30 calls itself, so slow workloads (a 40 ms planning
        // step) warm up for 40 calls, up to 3 s: with 0.5 s their median came from unoptimized code.
        var clock = Stopwatch.StartNew();
        int warmCalls = 0;
        double warmSeconds = Math.Max(0.5, 0.25 * budgetSeconds);
        while (warmCalls < 3 || clock.Elapsed.TotalSeconds < warmSeconds || (warmCalls < 40 && clock.Elapsed.TotalSeconds < 3))
        {
            body();
            warmCalls++;
        }
        double perCall = clock.Elapsed.TotalSeconds / warmCalls;

        // Calls per batch so that one batch takes ~5 ms (at least 1 call).
        int batch = Math.Max(1, (int)Math.Min(1_000_000, 0.005 / Math.Max(perCall, 1e-9)));
        var samples = new List<double>();
        long allocated = 0, calls = 0;
        clock.Restart();
        while (samples.Count < 5 || clock.Elapsed.TotalSeconds < budgetSeconds - 0.25 * budgetSeconds)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++) body();
            long stop = Stopwatch.GetTimestamp();
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            calls += batch;
            samples.Add((stop - start) / (double)Stopwatch.Frequency / batch);
            if (samples.Count >= 10_000) break;
        }
        samples.Sort();
        return new Measurement(samples[samples.Count / 2], allocated / (double)calls, (int)calls);
    }
}
