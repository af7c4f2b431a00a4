namespace DiffTori.Engine;

// PLACEHOLDER signatures: replaced by the helper that owns this file. The signatures are the contract.
public static partial class Ops
{
    // All batched over leading axes: a [..., n, n], b [..., n, k] (a 1-D/[..., n] b is treated as one column).
    /// <summary>Lower Cholesky factor; info (int32, [...]) is 0 where it worked, else the failing pivot (1-based). Never throws for a non-SPD matrix.</summary>
    public static Tensor Cholesky(Tensor a, out Tensor info) => throw new NotImplementedException();
    /// <summary>Cholesky that throws, naming the failing batch entry and pivot, if any matrix is not positive definite.</summary>
    public static Tensor Cholesky(Tensor a) => throw new NotImplementedException();
    /// <summary>Solve A·X = B given A's lower Cholesky factor L.</summary>
    public static Tensor CholeskySolve(Tensor l, Tensor b) => throw new NotImplementedException();
    public static Tensor TriangularSolve(Tensor a, Tensor b, bool lower, bool transposeA = false, bool unitDiagonal = false) => throw new NotImplementedException();
    public static Tensor LuFactor(Tensor a, out Tensor pivots, out Tensor info) => throw new NotImplementedException();
    public static Tensor LuSolve(Tensor lu, Tensor pivots, Tensor b) => throw new NotImplementedException();
    /// <summary>Solve A·X = B by LU with partial pivoting; throws naming the batch entry if A is singular.</summary>
    public static Tensor Solve(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Inverse(Tensor a) => throw new NotImplementedException();
}
