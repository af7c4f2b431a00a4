namespace DiffTori.Engine;

public static partial class Ops
{
    /// <summary>
    /// The common case of the result overload (a loop's C = A·B into a preallocated C), checked in one pass:
    /// three live 2-D tensors of one float dtype on one device, a and b dense or transposed views of dense
    /// matrices, result dense with the product's shape. A small product (8×8×8) takes a fraction of a
    /// microsecond, so the general path's batch shapes and operand descriptions would cost as much as the
    /// arithmetic. Returns false, having done nothing, when anything does not hold: the general path then
    /// handles the call and reports whatever is wrong with its usual message.
    /// </summary>
    private static bool TryMatmulDense2D(Tensor a, Tensor b, Tensor result, bool transA, bool transB, double alpha, double beta)
    {
        if (a.IsDisposed || b.IsDisposed || result.IsDisposed || !result.IsContiguous) return false;
        var storageA = a.Storage;
        DType dtype = storageA.DType;
        Device device = storageA.Device;
        if (!dtype.IsFloatingPoint() || b.Storage.DType != dtype || result.Storage.DType != dtype
            || b.Storage.Device != device || result.Storage.Device != device) return false;
        Shape shapeA = a.Shape, shapeB = b.Shape, shapeC = result.Shape;
        if (shapeA.Rank != 2 || shapeB.Rank != 2 || shapeC.Rank != 2) return false;
        if (!DenseOrTransposed(shapeA[0], shapeA[1], a.Strides, transA, out bool kernelTransA)
            || !DenseOrTransposed(shapeB[0], shapeB[1], b.Strides, transB, out bool kernelTransB)) return false;
        int m = transA ? shapeA[1] : shapeA[0], ka = transA ? shapeA[0] : shapeA[1];
        int kb = transB ? shapeB[1] : shapeB[0], n = transB ? shapeB[0] : shapeB[1];
        if (ka != kb || shapeC[0] != m || shapeC[1] != n) return false;
        var spec = new GemmSpec(1, m, n, ka, kernelTransA, kernelTransB, alpha, beta, 0, 0, m * n);
        device.Backend.Gemm(a, b, result, spec);
        NumericCheck.After("matmul", result);
        return true;
    }

    /// <summary>
    /// Whether an r×c matrix with these strides is dense row-major, or the transpose of a dense matrix (then the
    /// kernel reads it with the transpose flag flipped); the same rule as <see cref="MatmulOperand.Prepare"/>.
    /// </summary>
    private static bool DenseOrTransposed(int r, int c, in Strides strides, bool transpose, out bool kernelTrans)
    {
        int sr = strides[0], sc = strides[1];
        bool dense = (sc == 1 || c == 1) && (sr == c || r == 1);
        bool transposed = !dense && (sr == 1 || r == 1) && (sc == r || c == 1);
        kernelTrans = transposed ? !transpose : transpose;
        return dense || transposed;
    }
}
