namespace DiffTori.Engine;

/// <summary>Matrix products: numpy.matmul semantics on top of the backend's batched GEMM.</summary>
public static partial class Ops
{
    /// <summary>
    /// Matrix product with NumPy batch broadcasting: a [..., m, k] (or [..., k, m] when transA),
    /// b [..., k, n] (or [..., n, k] when transB) → [..., m, n]. 1-D operands are promoted like numpy.matmul.
    /// </summary>
    public static Tensor Matmul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        CheckMatmulOperands(a, b);
        // numpy.matmul: a vector a is a row [1, k], a vector b a column [k, 1]; the added axis is removed after.
        bool vectorA = a.Rank == 1, vectorB = b.Rank == 1;
        var a2 = vectorA ? a.Reshape(1, a.Length) : a;
        var b2 = vectorB ? b.Reshape(b.Length, 1) : b;
        if (vectorA) transA = false;
        if (vectorB) transB = false;
        try
        {
            var (m, n, k) = MatmulSizes(a, b, a2, b2, transA, transB);
            var batch = Broadcast.Shapes("matmul", BatchShape(a2), BatchShape(b2));
            Span<int> dims = stackalloc int[batch.Rank + 2];
            batch.CopyTo(dims);
            dims[^2] = m;
            dims[^1] = n;
            var c = Tensor.Empty(new Shape(dims), a.DType, a.Device);
            var opA = MatmulOperand.Prepare(a2, batch, transA);
            var opB = MatmulOperand.Prepare(b2, batch, transB);
            try
            {
                var spec = new GemmSpec(batch.Length, m, n, k, opA.Trans, opB.Trans, 1, 0, opA.BatchStride, opB.BatchStride, m * n);
                a.Device.Backend.Gemm(opA.Tensor, opB.Tensor, c, spec);
            }
            finally
            {
                opA.Release();
                opB.Release();
            }
            if (vectorA || vectorB)
            {
                // Drop the promoted axes: [..., 1, n] → [..., n], [..., m, 1] → [..., m].
                int rank = dims.Length - (vectorA ? 1 : 0) - (vectorB ? 1 : 0);
                Span<int> final = stackalloc int[rank];
                batch.CopyTo(final);
                if (!vectorA) final[batch.Rank] = m;
                if (!vectorB) final[^1] = n;
                var squeezed = c.Reshape(final);
                c.Dispose();
                c = squeezed;
            }
            NumericCheck.After("matmul", c);
            return c;
        }
        finally
        {
            if (vectorA) a2.Dispose();
            if (vectorB) b2.Dispose();
        }
    }

    /// <summary>
    /// result = alpha·op(a)·op(b) + beta·result (2-D or equal-batch 3-D, caller-owned result).
    /// a or b may also be 2-D (or batch 1) against a 3-D result: it is then shared by every batch item.
    /// Allocates nothing when a and b are dense or transposed views of dense matrices.
    /// </summary>
    public static void Matmul(Tensor a, Tensor b, Tensor result, bool transA = false, bool transB = false, double alpha = 1, double beta = 0)
    {
        if (TryMatmulDense2D(a, b, result, transA, transB, alpha, beta)) return;
        CheckMatmulOperands(a, b);
        Require.SameDType("matmul", a, result);
        if (a.Rank is < 2 or > 3 || b.Rank is < 2 or > 3 || result.Rank is < 2 or > 3)
            throw new TensorShapeException($"matmul: the result overload takes 2-D or 3-D operands, got a {a.Shape}, b {b.Shape}, result {result.Shape}");
        var (m, n, k) = MatmulSizes(a, b, a, b, transA, transB);
        int batchCount = result.Rank == 3 ? result.Shape[0] : 1;
        var batch = result.Rank == 3 ? new Shape(batchCount) : Shape.Scalar;
        CheckBatch(a, batch, a, b, result);
        CheckBatch(b, batch, a, b, result);
        var expected = result.Rank == 3 ? new Shape(batchCount, m, n) : new Shape(m, n);
        Require.Destination("matmul", result, expected, a.DType, a.Device);
        var opA = MatmulOperand.Prepare(a, batch, transA);
        var opB = MatmulOperand.Prepare(b, batch, transB);
        try
        {
            var spec = new GemmSpec(batchCount, m, n, k, opA.Trans, opB.Trans, alpha, beta, opA.BatchStride, opB.BatchStride, m * n);
            a.Device.Backend.Gemm(opA.Tensor, opB.Tensor, result, spec);
        }
        finally
        {
            opA.Release();
            opB.Release();
        }
        NumericCheck.After("matmul", result);
    }

    /// <summary>x·Wᵀ + bias for x [..., in], weight [out, in], bias [out] or null.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        Require.Float("linear", x);
        Require.SameDType("linear", x, weight);
        Require.SameDevice("linear", x, weight);
        Require.MinRank("linear", x, 1, "x");
        Require.Rank("linear", weight, 2, "weight");
        int inFeatures = x.Shape[x.Rank - 1], outFeatures = weight.Shape[0];
        if (weight.Shape[1] != inFeatures)
            throw new TensorShapeException($"linear: x {x.Shape} has {inFeatures} features but weight {weight.Shape} expects {weight.Shape[1]} (weight is [out, in])");
        if (bias is not null)
        {
            Require.SameDType("linear", x, bias);
            Require.SameDevice("linear", x, bias);
            if (bias.Rank != 1 || bias.Shape[0] != outFeatures)
                throw new TensorShapeException($"linear: bias {bias.Shape} must be [{outFeatures}] for weight {weight.Shape}");
        }
        var result = Tensor.Empty(x.Shape.With(x.Rank - 1, outFeatures), x.DType, x.Device);
        int rows = x.Length / Math.Max(inFeatures, 1);
        if (inFeatures == 0) rows = result.Length / Math.Max(outFeatures, 1);
        var dense = x.IsContiguous ? x : x.Contiguous();
        var w = MatmulOperand.Prepare(weight, Shape.Scalar, transpose: true);
        try
        {
            // Bias first (broadcast copy into every row), then accumulate the product onto it with beta = 1.
            if (bias is not null) x.Device.Backend.Copy(bias, result);
            var spec = new GemmSpec(1, rows, outFeatures, inFeatures, false, w.Trans, 1, bias is null ? 0 : 1, 0, 0, 0);
            x.Device.Backend.Gemm(dense, w.Tensor, result, spec);
        }
        finally
        {
            if (!ReferenceEquals(dense, x)) dense.Dispose();
            w.Release();
        }
        NumericCheck.After("linear", result);
        return result;
    }

    private static void CheckMatmulOperands(Tensor a, Tensor b)
    {
        Require.Float("matmul", a);
        Require.SameDType("matmul", a, b);
        Require.SameDevice("matmul", a, b);
        if (a.Rank == 0 || b.Rank == 0)
            throw new TensorShapeException($"matmul: operands must have at least one axis, got a {a.Shape} and b {b.Shape}");
    }

    /// <summary>m, n, k of op(a)·op(b), or an error naming both shapes and the two inner extents.</summary>
    private static (int M, int N, int K) MatmulSizes(Tensor a, Tensor b, Tensor a2, Tensor b2, bool transA, bool transB)
    {
        int ra = a2.Rank, rb = b2.Rank;
        int m = transA ? a2.Shape[ra - 1] : a2.Shape[ra - 2];
        int ka = transA ? a2.Shape[ra - 2] : a2.Shape[ra - 1];
        int kb = transB ? b2.Shape[rb - 1] : b2.Shape[rb - 2];
        int n = transB ? b2.Shape[rb - 2] : b2.Shape[rb - 1];
        if (ka != kb)
            throw new TensorShapeException(
                $"matmul: inner dimensions differ: a {a.Shape}{(transA ? " (transposed)" : "")} has k = {ka}, b {b.Shape}{(transB ? " (transposed)" : "")} has k = {kb}");
        return (m, n, ka);
    }

    private static Shape BatchShape(Tensor t)
    {
        Span<int> dims = stackalloc int[t.Rank - 2];
        for (int i = 0; i < dims.Length; i++) dims[i] = t.Shape[i];
        return new Shape(dims);
    }

    private static void CheckBatch(Tensor operand, in Shape batch, Tensor a, Tensor b, Tensor result)
    {
        if (operand.Rank == 3 && operand.Shape[0] != 1 && (batch.Rank == 0 || operand.Shape[0] != batch[0]))
            throw new TensorShapeException($"matmul: batch sizes differ: a {a.Shape}, b {b.Shape}, result {result.Shape}");
    }
}

/// <summary>
/// An operand as the GEMM kernel wants it: dense row-major matrices, possibly transposed (a transposed view
/// of a dense matrix is used as is with the flag flipped), one batch stride (0 = broadcast). Only an operand
/// whose layout cannot be described that way is copied.
/// </summary>
internal readonly struct MatmulOperand
{
    public Tensor Tensor { get; init; }
    public bool Trans { get; init; }
    public int BatchStride { get; init; }
    public bool Owned { get; init; }

    public void Release()
    {
        if (Owned) Tensor.Dispose();
    }

    /// <summary>x [..., r, c] read as a batch of the given shape; transpose = whether op() transposes it.</summary>
    public static MatmulOperand Prepare(Tensor x, in Shape batch, bool transpose)
    {
        int rank = x.Rank, r = x.Shape[rank - 2], c = x.Shape[rank - 1];
        int sr = x.Strides[rank - 2], sc = x.Strides[rank - 1];
        bool dense = (sc == 1 || c == 1) && (sr == c || r == 1);
        bool transposed = !dense && (sr == 1 || r == 1) && (sc == r || c == 1);
        if ((dense || transposed) && UniformBatchStride(x, batch, out int stride))
            return new MatmulOperand { Tensor = x, Trans = transposed ? !transpose : transpose, BatchStride = stride };

        // Materialize: broadcast to the full batch and copy densely.
        Span<int> dims = stackalloc int[batch.Rank + 2];
        batch.CopyTo(dims);
        dims[^2] = r;
        dims[^1] = c;
        using var expanded = x.Expand(new Shape(dims));
        var copy = expanded.Contiguous();
        return new MatmulOperand { Tensor = copy, Trans = transpose, BatchStride = batch.Length > 1 ? r * c : 0, Owned = true };
    }

    /// <summary>Whether batch item i of x starts at x.Offset + i·stride for every i (stride 0 = broadcast).</summary>
    private static bool UniformBatchStride(Tensor x, in Shape batch, out int stride)
    {
        int lead = batch.Rank - (x.Rank - 2);
        stride = 0;
        int expected = -1;
        for (int d = batch.Rank - 1; d >= 0; d--)
        {
            if (batch[d] == 1) continue;
            int extent = d < lead ? 1 : x.Shape[d - lead];
            int s = extent == 1 ? 0 : x.Strides[d - lead];
            if (expected < 0)
            {
                stride = s;
                expected = s * batch[d];
            }
            else if (s != expected) return false;
            else expected = s * batch[d];
        }
        return true;
    }
}
