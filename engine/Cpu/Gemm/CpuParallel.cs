using System.Runtime.ExceptionServices;

namespace DiffTori.Engine;

/// <summary>A piece of work split in parts; part p of n runs on one thread. Implemented by cached job objects.</summary>
internal interface IParallelWork
{
    void Execute(int part, int parts);
}

/// <summary>
/// A tiny fork-join pool for the CPU kernels: persistent worker threads (one per extra core), each woken by
/// its own event, so that splitting a GEMM across cores allocates nothing (unlike Parallel.For, which
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

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
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
