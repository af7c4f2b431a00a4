using System.Runtime.ExceptionServices;

namespace DiffTori.Engine;

/// <summary>A piece of work split in parts; part p of n runs on one thread. Implemented by cached job objects.</summary>
internal interface IParallelWork
{
    void Execute(int part, int parts);
}

/// <summary>
/// A tiny fork-join pool for the CPU kernels: persistent worker threads (one per extra core), each woken by
/// its own event, so that splitting a kernel (GEMM, conv, elementwise, reductions) across cores allocates nothing (unlike Parallel.For, which
/// allocates tasks and closures per call). The caller runs part 0 itself. If the pool is already in use
/// (another thread's kernel, or a nested call), the work simply runs on the calling thread.
/// On a busy machine a worker may be slow to wake: when the caller is done with its own part and a worker
/// has not started yet, the caller takes that part back and runs it instead of waiting for the wake-up.
/// </summary>
internal static class CpuParallel
{
    /// <summary>Threads a kernel may use (the caller plus the workers).</summary>
    public static readonly int Threads = Math.Clamp(Environment.ProcessorCount, 1, 16);

    private static readonly Worker[] Workers = CreateWorkers();
    private static int _busy;

    public static void Run(IParallelWork work, int parts)
    {
        parts = Math.Min(parts, Threads);
        if (parts <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int p = 0; p < parts; p++) work.Execute(p, parts);
            return;
        }
        try
        {
            for (int w = 0; w < parts - 1; w++) Workers[w].Start(work, w + 1, parts);
            Exception? mine = null;
            try { work.Execute(0, parts); }
            catch (Exception e) { mine = e; }
            for (int w = 0; w < parts - 1; w++)
            {
                if (Workers[w].TryCancel())
                {
                    try { work.Execute(w + 1, parts); }
                    catch (Exception e) { mine ??= e; }
                    continue;
                }
                var error = Workers[w].Join();
                mine ??= error;
            }
            if (mine is not null) ExceptionDispatchInfo.Capture(mine).Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static Worker[] CreateWorkers()
    {
        var workers = new Worker[Threads - 1];
        for (int i = 0; i < workers.Length; i++) workers[i] = new Worker(i + 1);
        return workers;
    }

    private sealed class Worker
    {
        private const int Idle = 0, Posted = 1, Running = 2, Finished = 3;
        private readonly ManualResetEventSlim _go = new(false, spinCount: 2000);
        private readonly ManualResetEventSlim _done = new(false, spinCount: 2000);
        private IParallelWork? _work;
        private int _part, _parts, _state;
        private Exception? _error;

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"DiffTori CPU worker {index}" };
            thread.Start();
        }

        public void Start(IParallelWork work, int part, int parts)
        {
            _work = work;
            _part = part;
            _parts = parts;
            _error = null;
            Volatile.Write(ref _state, Posted);
            _go.Set();
        }

        /// <summary>Withdraw the posted part if the worker has not picked it up yet.</summary>
        public bool TryCancel() => Interlocked.CompareExchange(ref _state, Idle, Posted) == Posted;

        public Exception? Join()
        {
            _done.Wait();
            _done.Reset();
            Volatile.Write(ref _state, Idle);
            _work = null;
            return _error;
        }

        /// <summary>
        /// How long a worker keeps polling for the next part before it blocks. Kernels come in bursts (a
        /// training step is hundreds of them), and waking a blocked thread costs tens of microseconds —
        /// as much as half of a 1M-element add — so a short spin lets the second core join consecutive calls.
        /// </summary>
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 10_000; // 100 µs

        private void Loop()
        {
            while (true)
            {
                // The state, not the event, says whether a part is posted: spin on it first, then block.
                long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                while (Volatile.Read(ref _state) != Posted && System.Diagnostics.Stopwatch.GetTimestamp() < until)
                    Thread.SpinWait(20);
                if (Volatile.Read(ref _state) != Posted) _go.Wait();
                _go.Reset();
                // A part withdrawn by the caller (state back to Idle) is skipped.
                if (Interlocked.CompareExchange(ref _state, Running, Posted) != Posted) continue;
                try { _work!.Execute(_part, _parts); }
                catch (Exception e) { _error = e; }
                Volatile.Write(ref _state, Finished);
                _done.Set();
            }
        }
    }
}

/// <summary>
/// A parallel loop over chunks 0..count-1 for the elementwise and reduction kernels. Subclasses are cached
/// per thread and hold the call's operands in fields, so a parallel call allocates nothing. Threads claim
/// chunks from a shared counter, so a thread the OS delays does not hold up the others.
/// </summary>
internal abstract class ChunkedWork : IParallelWork
{
    private int _next, _count;

    /// <summary>Run every chunk once, spread over the pool; returns when all are done.</summary>
    protected void RunChunks(int count)
    {
        _next = 0;
        _count = count;
        try { CpuParallel.Run(this, count); }
        finally { Clear(); }
    }

    public void Execute(int part, int parts)
    {
        while (true)
        {
            int chunk = Interlocked.Increment(ref _next) - 1;
            if (chunk >= _count) return;
            RunChunk(chunk);
        }
    }

    protected abstract void RunChunk(int chunk);

    /// <summary>Drop references to the call's arrays, so a cached job does not keep them alive.</summary>
    protected abstract void Clear();
}
