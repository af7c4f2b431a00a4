using DiffTori.Engine;

namespace DiffTori.Engine.Tests.Gpu;

/// <summary>The public ops run unchanged on a GPU device and agree with the CPU backend.</summary>
public class GpuOpsTests
{
    [Fact]
    public void MatmulConvAndPoolOpsAgreeWithTheCpu()
    {
        using var a = Gens.Tensor(new Shape(2, 6, 5), 1, DType.Float32);
        using var b = Gens.Tensor(new Shape(7, 5), 2, DType.Float32);
        using var x = Gens.Tensor(new Shape(2, 3, 6, 5), 3, DType.Float32);
        using var w = Gens.Tensor(new Shape(4, 3, 3, 3), 4, DType.Float32);
        using var product = Ops.Matmul(a, b, transB: true);
        using var ag = a.To(Sim.Device);
        using var bg = b.To(Sim.Device);
        using var productGpu = Ops.Matmul(ag, bg, transB: true);
        Assert.Equal(Sim.Device, productGpu.Device);
        Close.Assert(product.ToDoubleArray(), productGpu.ToDoubleArray(), 1e-5, "matmul");

        using var conv = Ops.Conv2d(x, w, null, (1, 1), (1, 1));
        using var xg = x.To(Sim.Device);
        using var wg = w.To(Sim.Device);
        using var convGpu = Ops.Conv2d(xg, wg, null, (1, 1), (1, 1));
        Close.Assert(conv.ToDoubleArray(), convGpu.ToDoubleArray(), 1e-5, "conv2d");

        using var dx = Ops.Conv2dInputGrad(conv, w, x.Shape, (1, 1), (1, 1));
        using var dxGpu = Ops.Conv2dInputGrad(convGpu, wg, x.Shape, (1, 1), (1, 1));
        Close.Assert(dx.ToDoubleArray(), dxGpu.ToDoubleArray(), 1e-4, "conv2d input grad");
        using var dw = Ops.Conv2dWeightGrad(x, conv, w.Shape, (1, 1), (1, 1));
        using var dwGpu = Ops.Conv2dWeightGrad(xg, convGpu, w.Shape, (1, 1), (1, 1));
        Close.Assert(dw.ToDoubleArray(), dwGpu.ToDoubleArray(), 1e-4, "conv2d weight grad");

        using var pooled = Ops.MaxPool2d(x, (2, 2), out var argmax);
        using var pooledGpu = Ops.MaxPool2d(xg, (2, 2), out var argmaxGpu);
        using (argmax)
        using (argmaxGpu)
        {
            Close.Assert(pooled.ToDoubleArray(), pooledGpu.ToDoubleArray(), 0, "max pool");
            Assert.Equal(argmax.ToArray<int>(), argmaxGpu.ToArray<int>());
        }
        using var avg = Ops.AvgPool2d(x, (3, 2), (2, 1), (1, 0));
        using var avgGpu = Ops.AvgPool2d(xg, (3, 2), (2, 1), (1, 0));
        Close.Assert(avg.ToDoubleArray(), avgGpu.ToDoubleArray(), 1e-6, "avg pool");
    }
}
