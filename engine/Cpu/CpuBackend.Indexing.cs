namespace DiffTori.Engine;

// PLACEHOLDER: replaced by the helper that owns this file.
public sealed partial class CpuBackend
{
    public void IndexSelect(Tensor x, int outer, int n, int inner, Tensor index, Tensor y) => throw new NotImplementedException();
    public void IndexAdd(Tensor src, int outer, int n, int inner, Tensor index, Tensor y) => throw new NotImplementedException();
    public void Gather(Tensor x, int outer, int n, int inner, Tensor index, int k, Tensor y) => throw new NotImplementedException();
    public void ScatterAdd(Tensor src, int outer, int n, int inner, Tensor index, int k, Tensor y) => throw new NotImplementedException();
}
