namespace DiffTori.Engine;

// PLACEHOLDER: replaced by the helper that owns this file.
public sealed partial class CpuBackend
{
    public void RandomUniform(Tensor y, ulong seed, ulong counter, double low, double high) => throw new NotImplementedException();
    public void RandomNormal(Tensor y, ulong seed, ulong counter, double mean, double std) => throw new NotImplementedException();
    public void RandomTruncatedNormal(Tensor y, ulong seed, ulong counter, double mean, double std, double low, double high) => throw new NotImplementedException();
    public void RandomIntegers(Tensor y, ulong seed, ulong counter, int low, int high) => throw new NotImplementedException();
}
