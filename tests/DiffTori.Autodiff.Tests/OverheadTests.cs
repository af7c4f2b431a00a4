using System.Diagnostics;
using DiffTori.Engine;
using Xunit.Abstractions;

namespace DiffTori.Autodiff.Tests;

/// <summary>
/// What the autodiff layer adds to an engine op on tiny tensors (the DiffTORI hot loop). Allocation
/// counts are exact and asserted; times are measured in process CPU time (the shared test machine is
/// heavily loaded) and only written to the test output.
/// </summary>
[Collection("Memory")]
public class OverheadTests(ITestOutputHelper output)
{
    private static double CpuNanosecondsPerCall(Action action, int calls)
    {
        for (int i = 0; i < calls / 10; i++) action();
        var process = Process.GetCurrentProcess();
        var t0 = process.TotalProcessorTime;
        for (int i = 0; i < calls; i++) action();
        process.Refresh();
        return (process.TotalProcessorTime - t0).TotalNanoseconds / calls;
    }

    private static double BytesPerCall(Action action, int calls)
    {
        for (int i = 0; i < 100; i++) action();
        long b0 = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) action();
        return (GC.GetAllocatedBytesForCurrentThread() - b0) / (double)calls;
    }

    [Fact]
    public void SmallOpsAddLittleToTheEngineOp()
    {
        var ta = AutodiffGens.Values(new Shape(4), 1);
        var tb = AutodiffGens.Values(new Shape(4), 2);
        var a = new Var(ta, requiresGrad: true);
        var b = new Var(tb, requiresGrad: true);

        double engineBytes = BytesPerCall(() => Ops.Mul(ta, tb).Dispose(), 1000);
        double recordedBytes = BytesPerCall(() => F.Mul(a, b).Value.Dispose(), 1000);
        double noGradBytes;
        using (Autograd.NoGrad()) noGradBytes = BytesPerCall(() => F.Mul(a, b).Value.Dispose(), 1000);

        double engine = CpuNanosecondsPerCall(() => Ops.Mul(ta, tb).Dispose(), 50_000);
        double noGrad;
        using (Autograd.NoGrad()) noGrad = CpuNanosecondsPerCall(() => F.Mul(a, b).Value.Dispose(), 50_000);
        double recorded = CpuNanosecondsPerCall(() => F.Mul(a, b).Value.Dispose(), 50_000);

        output.WriteLine($"[4]·[4]: Ops.Mul {engine:F0} ns, {engineBytes:F0} B; F.Mul no-grad {noGrad:F0} ns, {noGradBytes:F0} B; recording {recorded:F0} ns, {recordedBytes:F0} B");
        Assert.True(noGradBytes - engineBytes <= 128, $"a no-grad op should add only its Var: {noGradBytes - engineBytes} bytes");
        Assert.True(recordedBytes - engineBytes <= 400, $"a recorded op should add only its Var and Node: {recordedBytes - engineBytes} bytes");
    }
}
