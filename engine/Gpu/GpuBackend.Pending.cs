namespace DiffTori.Engine;
public sealed partial class GpuBackend
{
    public void Gemm(Tensor a, Tensor b, Tensor c, in GemmSpec spec) => throw new NotImplementedException();
    public void Conv2d(Tensor x, Tensor weight, Tensor y, in ConvSpec spec) => throw new NotImplementedException();
    public void Conv2dInputGrad(Tensor dy, Tensor weight, Tensor dx, in ConvSpec spec) => throw new NotImplementedException();
    public void Conv2dWeightGrad(Tensor x, Tensor dy, Tensor dw, in ConvSpec spec) => throw new NotImplementedException();
    public void MaxPool2d(Tensor x, Tensor y, Tensor argmax, in PoolSpec spec) => throw new NotImplementedException();
    public void MaxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx, in PoolSpec spec) => throw new NotImplementedException();
    public void AvgPool2d(Tensor x, Tensor y, in PoolSpec spec) => throw new NotImplementedException();
    public void AvgPool2dBackward(Tensor dy, Tensor dx, in PoolSpec spec) => throw new NotImplementedException();
    public void IndexSelect(Tensor x, int outer, int n, int inner, Tensor index, Tensor y) => throw new NotImplementedException();
    public void IndexAdd(Tensor src, int outer, int n, int inner, Tensor index, Tensor y) => throw new NotImplementedException();
    public void Gather(Tensor x, int outer, int n, int inner, Tensor index, int k, Tensor y) => throw new NotImplementedException();
    public void ScatterAdd(Tensor src, int outer, int n, int inner, Tensor index, int k, Tensor y) => throw new NotImplementedException();
    public void Cholesky(Tensor a, Tensor l, Tensor info) => throw new NotImplementedException();
    public void TriangularSolve(Tensor a, Tensor b, Tensor x, bool lower, bool transposeA, bool unitDiagonal) => throw new NotImplementedException();
    public void LuFactor(Tensor a, Tensor lu, Tensor pivots, Tensor info) => throw new NotImplementedException();
    public void LuSolve(Tensor lu, Tensor pivots, Tensor b, Tensor x) => throw new NotImplementedException();
    public void RandomUniform(Tensor y, ulong seed, ulong counter, double low, double high) => throw new NotImplementedException();
    public void RandomNormal(Tensor y, ulong seed, ulong counter, double mean, double std) => throw new NotImplementedException();
    public void RandomTruncatedNormal(Tensor y, ulong seed, ulong counter, double mean, double std, double low, double high) => throw new NotImplementedException();
    public void RandomIntegers(Tensor y, ulong seed, ulong counter, int low, int high) => throw new NotImplementedException();
}
