namespace DiffTori.Engine;

// PLACEHOLDER signatures: replaced by the helper that owns this file. The signatures are the contract.
public static partial class Ops
{
    /// <summary>
    /// Matrix product with NumPy batch broadcasting: a [..., m, k] (or [..., k, m] when transA),
    /// b [..., k, n] (or [..., n, k] when transB) → [..., m, n]. 1-D operands are promoted like numpy.matmul.
    /// </summary>
    public static Tensor Matmul(Tensor a, Tensor b, bool transA = false, bool transB = false) => throw new NotImplementedException();
    /// <summary>result = alpha·op(a)·op(b) + beta·result (2-D or equal-batch 3-D, caller-owned result).</summary>
    public static void Matmul(Tensor a, Tensor b, Tensor result, bool transA = false, bool transB = false, double alpha = 1, double beta = 0) => throw new NotImplementedException();
    /// <summary>x·Wᵀ + bias for x [..., in], weight [out, in], bias [out] or null.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias) => throw new NotImplementedException();
}
