using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Gpu;

/// <summary>Each kernel on the simulator against the CPU backend on the same data (float64, strided inputs).</summary>
public class GpuCpuParityTests
{
    private static readonly IBackend Cpu = Device.Cpu.Backend;
    private static IBackend Gpu => Sim.Device.Backend;

    private static void Same(Tensor cpu, Tensor gpu, string what, double tol = 1e-12) =>
        Close.Assert(cpu.ToDoubleArray(), gpu.ToDoubleArray(), tol, what);

    [Fact]
    public void EveryUnaryAndBinaryOp()
    {
        var values = Gens.Data(new Shape(4, 6), 41, -3, 3);
        values[0] = 0;
        values[1] = 0.5;
        using var xc = Tensor.FromArray(values, new Shape(4, 6));
        using var xg = xc.To(Sim.Device);
        using var tc = xc.Transpose(0, 1);
        using var tg = xg.Transpose(0, 1);
        using var yc = Tensor.Empty(tc.Shape, DType.Float64);
        using var yg = Tensor.Empty(tc.Shape, DType.Float64, Sim.Device);
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            double p0 = op switch { UnaryOp.Softplus => 1.5, UnaryOp.PowScalar => 2, UnaryOp.Clamp => -1, UnaryOp.Elu => 0.7, _ => 0.5 };
            double p1 = op switch { UnaryOp.Softplus => 20, UnaryOp.Clamp => 1, _ => 0.25 };
            Cpu.Unary(op, tc, yc, p0, p1);
            Gpu.Unary(op, tg, yg, p0, p1);
            Same(yc, yg, op.ToString());
        }
        var bv = Gens.Data(new Shape(6, 1), 42, 0.5, 2);
        using var bc = Tensor.FromArray(bv, new Shape(6, 1));
        using var bg = bc.To(Sim.Device);
        foreach (var op in Enum.GetValues<BinaryOp>())
        {
            Cpu.Binary(op, tc, bc, yc);
            Gpu.Binary(op, tg, bg, yg);
            Same(yc, yg, op.ToString());
        }
        using var condC = Tensor.FromArray(new double[] { 1, 0, 1, 1 });
        using var condG = condC.To(Sim.Device);
        Cpu.Where(condC, tc, bc, yc);
        Gpu.Where(condG, tg, bg, yg);
        Same(yc, yg, "where");
    }

    [Fact]
    public void ReductionsSoftmaxAndLayerNorm()
    {
        const int outer = 3, n = 6, inner = 2;
        var values = Gens.Data(new Shape(outer, n, inner), 43, -4, 4);
        using var xc = Tensor.FromArray(values, new Shape(outer, n, inner));
        using var xg = xc.To(Sim.Device);
        foreach (var op in Enum.GetValues<ReduceOp>())
        {
            var dtype = op is ReduceOp.ArgMax or ReduceOp.ArgMin ? DType.Int32 : DType.Float64;
            using var yc = Tensor.Empty(new Shape(outer, inner), dtype);
            using var yg = Tensor.Empty(new Shape(outer, inner), dtype, Sim.Device);
            Cpu.Reduce(op, xc, outer, n, inner, yc, 1);
            Gpu.Reduce(op, xg, outer, n, inner, yg, 1);
            Same(yc, yg, op.ToString());
        }
        using var sc = Tensor.Empty(xc.Shape, DType.Float64);
        using var sg = Tensor.Empty(xc.Shape, DType.Float64, Sim.Device);
        foreach (bool log in new[] { false, true })
        {
            Cpu.Softmax(xc, outer, n, inner, sc, log);
            Gpu.Softmax(xg, outer, n, inner, sg, log);
            Same(sc, sg, log ? "log-softmax" : "softmax");
        }
        using var mc = Tensor.Empty(new Shape(outer * n), DType.Float64);
        using var mg = Tensor.Empty(new Shape(outer * n), DType.Float64, Sim.Device);
        using var rc = Tensor.Empty(new Shape(outer * n), DType.Float64);
        using var rg = Tensor.Empty(new Shape(outer * n), DType.Float64, Sim.Device);
        Cpu.LayerNorm(xc, outer * n, inner, 1e-5, sc, mc, rc);
        Gpu.LayerNorm(xg, outer * n, inner, 1e-5, sg, mg, rg);
        Same(sc, sg, "layer norm");
        Same(mc, mg, "layer norm mean");
        Same(rc, rg, "layer norm rstd");
    }

    [Fact]
    public void CholeskyGatherAndScatter()
    {
        using var ac = Tensor.FromArray(new double[] { 4, 2, 0, 2, 5, 1, 0, 1, 3, 1, 2, 0, 2, 1, 0, 0, 0, 1 }, new Shape(2, 3, 3));
        using var ag = ac.To(Sim.Device);
        using var lc = Tensor.Empty(ac.Shape, DType.Float64);
        using var lg = Tensor.Empty(ac.Shape, DType.Float64, Sim.Device);
        using var ic = Tensor.Empty(new Shape(2), DType.Int32);
        using var ig = Tensor.Empty(new Shape(2), DType.Int32, Sim.Device);
        Cpu.Cholesky(ac, lc, ic);
        Gpu.Cholesky(ag, lg, ig);
        Assert.Equal(ic.ToArray<int>(), ig.ToArray<int>());
        Assert.Equal(0, ig.ToArray<int>()[0]);
        Assert.NotEqual(0, ig.ToArray<int>()[1]);
        Close.Assert(lc.ToDoubleArray().Take(9).ToArray(), lg.ToDoubleArray().Take(9).ToArray(), 1e-12, "cholesky");

        var x = Gens.Data(new Shape(2, 4, 3), 44);
        using var xc = Tensor.FromArray(x, new Shape(2, 4, 3));
        using var xg = xc.To(Sim.Device);
        using var idxC = Tensor.FromArray(new[] { 3, 0, 1, 1, 2, 3, 0, 0, 0, 2, 2, 1 }, new Shape(2, 2, 3));
        using var idxG = idxC.To(Sim.Device);
        using var gc = Tensor.Empty(new Shape(2, 2, 3), DType.Float64);
        using var gg = Tensor.Empty(new Shape(2, 2, 3), DType.Float64, Sim.Device);
        Cpu.Gather(xc, 2, 4, 3, idxC, 2, gc);
        Gpu.Gather(xg, 2, 4, 3, idxG, 2, gg);
        Same(gc, gg, "gather");
        using var yc = Tensor.Zeros(new Shape(2, 4, 3), DType.Float64);
        using var yg = Tensor.Zeros(new Shape(2, 4, 3), DType.Float64, Sim.Device);
        Cpu.ScatterAdd(gc, 2, 4, 3, idxC, 2, yc);
        Gpu.ScatterAdd(gg, 2, 4, 3, idxG, 2, yg);
        Same(yc, yg, "scatter add");
        using var one = Tensor.FromArray(new[] { 1, 1, 3 });
        using var oneG = one.To(Sim.Device);
        using var src = Tensor.Ones(new Shape(2, 3, 3), DType.Float64);
        using var srcG = src.To(Sim.Device);
        Cpu.IndexAdd(src, 2, 4, 3, one, yc);
        Gpu.IndexAdd(srcG, 2, 4, 3, oneG, yg);
        Same(yc, yg, "index add");
    }
}
