namespace DiffTori.Engine;

// PLACEHOLDER: replaced by the helper that owns this file.
public sealed partial class CpuBackend
{
    public void Conv2d(Tensor x, Tensor weight, Tensor y, in ConvSpec spec) => throw new NotImplementedException();
    public void Conv2dInputGrad(Tensor dy, Tensor weight, Tensor dx, in ConvSpec spec) => throw new NotImplementedException();
    public void Conv2dWeightGrad(Tensor x, Tensor dy, Tensor dw, in ConvSpec spec) => throw new NotImplementedException();
    public void MaxPool2d(Tensor x, Tensor y, Tensor argmax, in PoolSpec spec) => throw new NotImplementedException();
    public void MaxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx, in PoolSpec spec) => throw new NotImplementedException();
    public void AvgPool2d(Tensor x, Tensor y, in PoolSpec spec) => throw new NotImplementedException();
    public void AvgPool2dBackward(Tensor dy, Tensor dx, in PoolSpec spec) => throw new NotImplementedException();
}
