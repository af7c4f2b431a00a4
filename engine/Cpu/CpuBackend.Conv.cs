using System.Numerics;

namespace DiffTori.Engine;

public sealed partial class CpuBackend
{
    public void Conv2d(Tensor x, Tensor weight, Tensor y, in ConvSpec spec)
    {
        if (y.DType == DType.Float32) RunConv<float>(x, weight, y, spec, inputGradient: false);
        else RunConv<double>(x, weight, y, spec, inputGradient: false);
    }

    public void Conv2dInputGrad(Tensor dy, Tensor weight, Tensor dx, in ConvSpec spec)
    {
        if (dx.DType == DType.Float32) RunConv<float>(dy, weight, dx, spec, inputGradient: true);
        else RunConv<double>(dy, weight, dx, spec, inputGradient: true);
    }

    public void Conv2dWeightGrad(Tensor x, Tensor dy, Tensor dw, in ConvSpec spec)
    {
        if (dw.DType == DType.Float32)
            ConvKernels.WeightGrad(x.CpuArray<float>(), x.Offset, dy.CpuArray<float>(), dy.Offset, dw.CpuArray<float>(), dw.Offset, spec);
        else
            ConvKernels.WeightGrad(x.CpuArray<double>(), x.Offset, dy.CpuArray<double>(), dy.Offset, dw.CpuArray<double>(), dw.Offset, spec);
    }

    public void MaxPool2d(Tensor x, Tensor y, Tensor argmax, in PoolSpec spec)
    {
        if (y.DType == DType.Float32)
            PoolKernels.Max(x.CpuArray<float>(), x.Offset, y.CpuArray<float>(), y.Offset, argmax.CpuArray<int>(), argmax.Offset, spec);
        else
            PoolKernels.Max(x.CpuArray<double>(), x.Offset, y.CpuArray<double>(), y.Offset, argmax.CpuArray<int>(), argmax.Offset, spec);
    }

    public void MaxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx, in PoolSpec spec)
    {
        if (dx.DType == DType.Float32)
            PoolKernels.MaxBackward(dy.CpuArray<float>(), dy.Offset, argmax.CpuArray<int>(), argmax.Offset, dx.CpuArray<float>(), dx.Offset, spec);
        else
            PoolKernels.MaxBackward(dy.CpuArray<double>(), dy.Offset, argmax.CpuArray<int>(), argmax.Offset, dx.CpuArray<double>(), dx.Offset, spec);
    }

    public void AvgPool2d(Tensor x, Tensor y, in PoolSpec spec)
    {
        if (y.DType == DType.Float32) PoolKernels.Average(x.CpuArray<float>(), x.Offset, y.CpuArray<float>(), y.Offset, spec);
        else PoolKernels.Average(x.CpuArray<double>(), x.Offset, y.CpuArray<double>(), y.Offset, spec);
    }

    public void AvgPool2dBackward(Tensor dy, Tensor dx, in PoolSpec spec)
    {
        if (dx.DType == DType.Float32) PoolKernels.AverageBackward(dy.CpuArray<float>(), dy.Offset, dx.CpuArray<float>(), dx.Offset, spec);
        else PoolKernels.AverageBackward(dy.CpuArray<double>(), dy.Offset, dx.CpuArray<double>(), dx.Offset, spec);
    }

    private static void RunConv<T>(Tensor input, Tensor weight, Tensor output, in ConvSpec spec, bool inputGradient)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var job = ConvJob<T>.ForThisThread;
        job.InputGradient = inputGradient;
        job.In = input.CpuArray<T>();
        job.InOffset = input.Offset;
        job.Weight = weight.CpuArray<T>();
        job.WeightOffset = weight.Offset;
        job.Out = output.CpuArray<T>();
        job.OutOffset = output.Offset;
        job.Spec = spec;
        job.Run();
    }
}
