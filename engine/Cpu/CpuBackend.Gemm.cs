namespace DiffTori.Engine;

// PLACEHOLDER: replaced by the helper that owns this file.
public sealed partial class CpuBackend
{
    public void Gemm(Tensor a, Tensor b, Tensor c, in GemmSpec spec) => throw new NotImplementedException();
}
