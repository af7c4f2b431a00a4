namespace DiffTori.Engine;

// PLACEHOLDER: replaced by the helper that owns this file.
public sealed partial class CpuBackend
{
    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1) => throw new NotImplementedException();
    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y) => throw new NotImplementedException();
    public void Where(Tensor condition, Tensor a, Tensor b, Tensor y) => throw new NotImplementedException();
}
