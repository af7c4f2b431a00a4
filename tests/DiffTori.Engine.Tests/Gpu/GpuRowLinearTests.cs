using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Gpu;

/// <summary>
/// The batch-1 linear ops off the CPU (they compose Linear, ELU and Matmul there) give what the CPU's fused
/// row kernels give: forward with and without the ELU epilogue, backward written and accumulated.
/// </summary>
public class GpuRowLinearTests
{
    [Fact]
    public void Row_linear_ops_match_the_cpu_kernels()
    {
        const int outF = 37, inF = 19;
        foreach (var act in new[] { LinearEpilogue.None, LinearEpilogue.Elu })
        {
            using var x = Sim.Tensor(new Shape(1, inF), 1);
            using var w = Sim.Tensor(new Shape(outF, inF), 2);
            using var b = Sim.Tensor(new Shape(outF), 3);
            using var y = Ops.LinearActivation(x, w, b, act, 0.7);
            using var xc = x.To(Device.Cpu);
            using var wc = w.To(Device.Cpu);
            using var bc = b.To(Device.Cpu);
            using var yc = Ops.LinearActivation(xc, wc, bc, act, 0.7);
            Close(yc.ToDoubleArray(), y.ToDoubleArray(), $"forward {act}");
        }

        foreach (bool accumulate in new[] { false, true })
        {
            using var g = Sim.Tensor(new Shape(1, outF), 4);
            using var x = Sim.Tensor(new Shape(1, inF), 5);
            using var w = Sim.Tensor(new Shape(outF, inF), 6);
            using var gw = Sim.Tensor(new Shape(outF, inF), 7);
            using var gx = Sim.Tensor(new Shape(1, inF), 8);
            using var gc = g.To(Device.Cpu);
            using var xc = x.To(Device.Cpu);
            using var wc = w.To(Device.Cpu);
            using var gwc = gw.To(Device.Cpu);
            using var gxc = gx.To(Device.Cpu);
            Ops.LinearBackwardRow(g, x, w, gx, gw, accumulate);
            Ops.LinearBackwardRow(gc, xc, wc, gxc, gwc, accumulate);
            Close(gxc.ToDoubleArray(), gx.ToDoubleArray(), $"gradX accumulate={accumulate}");
            Close(gwc.ToDoubleArray(), gw.ToDoubleArray(), $"gradW accumulate={accumulate}");
        }
    }

    private static void Close(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs(expected[i] - actual[i]) <= 1e-10 * (1 + Math.Abs(expected[i])))) Assert.Fail($"{what} [{i}]: cpu {expected[i]}, simulator {actual[i]}");
    }
}
