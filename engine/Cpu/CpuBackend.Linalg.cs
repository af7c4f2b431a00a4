namespace DiffTori.Engine;

// PLACEHOLDER: replaced by the helper that owns this file.
public sealed partial class CpuBackend
{
    public void Cholesky(Tensor a, Tensor l, Tensor info) => throw new NotImplementedException();
    public void TriangularSolve(Tensor a, Tensor b, Tensor x, bool lower, bool transposeA, bool unitDiagonal) => throw new NotImplementedException();
    public void LuFactor(Tensor a, Tensor lu, Tensor pivots, Tensor info) => throw new NotImplementedException();
    public void LuSolve(Tensor lu, Tensor pivots, Tensor b, Tensor x) => throw new NotImplementedException();
}
