namespace DiffTori.Engine;

public static partial class Ops
{
    /// <summary>
    /// The gradients of y = a·B for a single row a [1, K] (or [K]) and B [K, N], given gy [1, N] (or [N]):
    /// gradA = gy·Bᵀ (written, shape of a) and gradB = aᵀ·gy (written, or added when accumulate); either may be
    /// null. This is the batch-1 double backward's product g·W of a linear layer: on the CPU one pass over B
    /// split between the cores computes both (a dot product and a row update per row of B); elsewhere two products.
    /// </summary>
    public static void RowMatmulBackward(Tensor a, Tensor b, Tensor gy, Tensor? gradA, Tensor? gradB, bool accumulate)
    {
        Require.Float("row matmul backward", a);
        Require.SameDType("row matmul backward", a, b);
        Require.SameDType("row matmul backward", a, gy);
        Require.Rank("row matmul backward", b, 2, "B");
        int k = b.Shape[0], n = b.Shape[1];
        if (a.Length != k || gy.Length != n || a.Shape[a.Rank - 1] != k || gy.Shape[gy.Rank - 1] != n)
            throw new TensorShapeException($"row matmul backward: one row expected, got a {a.Shape} and gy {gy.Shape} for B {b.Shape}");
        if (gradA is not null) Require.Destination("row matmul backward", gradA, a.Shape, a.DType, a.Device);
        if (gradB is not null) Require.Destination("row matmul backward", gradB, b.Shape, b.DType, b.Device);
        // Row o of B is a linear layer's weight row: gradB[o,:] = a[o]·gy and gradA[o] = B[o,:]·gy in one sweep.
        if (!TryRowBackwardKernel(b, a, gy, gradB, accumulate, gradX: null, dots: gradA, k, n))
        {
            using var aRow = a.Reshape(1, k);
            using var gyRow = gy.Reshape(1, n);
            if (gradA is not null)
            {
                using var gradARow = gradA.Reshape(1, k);
                Matmul(gyRow, b, gradARow, transB: true);
            }
            if (gradB is not null) Matmul(aRow, gyRow, gradB, transA: true, beta: accumulate ? 1 : 0);
        }
        if (gradA is not null) NumericCheck.After("row matmul backward", gradA);
        if (gradB is not null) NumericCheck.After("row matmul backward", gradB);
    }
}
