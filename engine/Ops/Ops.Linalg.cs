namespace DiffTori.Engine;

/// <summary>
/// Batched dense linear algebra. Leading axes are batch axes and broadcast between the matrix and
/// the right-hand side; the kernels see contiguous [batch, n, n] and [batch, n, k] tensors.
/// </summary>
public static partial class Ops
{
    // All batched over leading axes: a [..., n, n], b [..., n, k] (a 1-D/[..., n] b is treated as one column).
    /// <summary>Lower Cholesky factor; info (int32, [...]) is 0 where it worked, else the failing pivot (1-based). Never throws for a non-SPD matrix.</summary>
    public static Tensor Cholesky(Tensor a, out Tensor info)
    {
        const string op = "cholesky";
        int n = SquareSize(op, a);
        var lead = LeadingShape(a.Shape, 2);
        using var a3 = AsBatch(a, lead, n, n);
        var l = NewLike(a, a.Shape);
        info = Tensor.Empty(lead, DType.Int32, a.Device);
        if (lead.Length > 0)
        {
            using var l3 = l.Reshape(lead.Length, n, n);
            using var info1 = info.Reshape(lead.Length);
            a.Device.Backend.Cholesky(a3, l3, info1);
        }
        NumericCheck.After(op, l);
        return l;
    }

    /// <summary>Cholesky that throws, naming the failing batch entry and pivot, if any matrix is not positive definite.</summary>
    public static Tensor Cholesky(Tensor a)
    {
        var l = Cholesky(a, out var info);
        using (info)
        {
            if (LinalgInfo.FirstFailure(info, out int entry, out int pivot))
            {
                l.Dispose();
                throw new ArgumentException(
                    $"cholesky: matrix {LinalgInfo.BatchIndex(info.Shape, entry)} of a {a.Shape} is not positive definite (pivot {pivot} is not positive)");
            }
        }
        return l;
    }

    /// <summary>Solve A·X = B given A's lower Cholesky factor L.</summary>
    public static Tensor CholeskySolve(Tensor l, Tensor b)
    {
        using var system = LinearSystem.Prepare("cholesky_solve", l, b, LinearSystem.VectorRule(l, b));
        var backend = l.Device.Backend;
        using var y = Tensor.Empty(system.B.Shape, b.DType, b.Device);
        var result = system.NewResult();
        using var x = system.ResultAsBatch(result);
        if (system.HasWork)
        {
            backend.TriangularSolve(system.A, system.B, y, lower: true, transposeA: false, unitDiagonal: false);
            backend.TriangularSolve(system.A, y, x, lower: true, transposeA: true, unitDiagonal: false);
        }
        NumericCheck.After("cholesky_solve", result);
        return result;
    }

    public static Tensor TriangularSolve(Tensor a, Tensor b, bool lower, bool transposeA = false, bool unitDiagonal = false)
    {
        using var system = LinearSystem.Prepare("triangular_solve", a, b, LinearSystem.VectorRule(a, b));
        var result = system.NewResult();
        using var x = system.ResultAsBatch(result);
        if (system.HasWork) a.Device.Backend.TriangularSolve(system.A, system.B, x, lower, transposeA, unitDiagonal);
        NumericCheck.After("triangular_solve", result);
        return result;
    }

    public static Tensor LuFactor(Tensor a, out Tensor pivots, out Tensor info)
    {
        const string op = "lu_factor";
        int n = SquareSize(op, a);
        var lead = LeadingShape(a.Shape, 2);
        using var a3 = AsBatch(a, lead, n, n);
        var lu = NewLike(a, a.Shape);
        pivots = Tensor.Empty(lead.Insert(lead.Rank, n), DType.Int32, a.Device);
        info = Tensor.Empty(lead, DType.Int32, a.Device);
        if (lead.Length > 0)
        {
            using var lu3 = lu.Reshape(lead.Length, n, n);
            using var pivots2 = pivots.Reshape(lead.Length, n);
            using var info1 = info.Reshape(lead.Length);
            a.Device.Backend.LuFactor(a3, lu3, pivots2, info1);
        }
        NumericCheck.After(op, lu);
        return lu;
    }

    public static Tensor LuSolve(Tensor lu, Tensor pivots, Tensor b) =>
        LuSolve("lu_solve", lu, pivots, b, LinearSystem.VectorRule(lu, b));

    /// <summary>Solve A·X = B by LU with partial pivoting; throws naming the batch entry if A is singular.</summary>
    public static Tensor Solve(Tensor a, Tensor b)
    {
        const string op = "solve";
        using var lu = LuFactor(a, out var pivots, out var info);
        using (pivots)
        using (info)
        {
            ThrowIfSingular(op, a, info);
            return LuSolve(op, lu, pivots, b, LinearSystem.VectorRule(a, b));
        }
    }

    public static Tensor Inverse(Tensor a)
    {
        const string op = "inverse";
        int n = SquareSize(op, a);
        using var lu = LuFactor(a, out var pivots, out var info);
        using (pivots)
        using (info)
        {
            ThrowIfSingular(op, a, info);
            using var identity = Tensor.Eye(n, a.DType, a.Device);
            return LuSolve(op, lu, pivots, identity, treatAsVector: false);
        }
    }

    // ----- allocation-free forms for hot loops: caller-owned contiguous [batch, n, n] / [batch, n, k] tensors, no broadcasting -----

    /// <summary>Cholesky of a [batch, n, n] into result (same shape) and info ([batch], int32); never throws for a non-SPD matrix.</summary>
    public static void Cholesky(Tensor a, Tensor result, Tensor info)
    {
        const string op = "cholesky";
        int batch = BatchedSquare(op, a);
        Require.Destination(op, result, a.Shape, a.DType, a.Device);
        Require.Destination(op, info, new Shape(batch), DType.Int32, a.Device);
        if (a.Length > 0) a.Device.Backend.Cholesky(a, result, info);
        NumericCheck.After(op, result);
    }

    /// <summary>op(A)·X = B for a [batch, n, n] and b, result [batch, n, k]; result may be b itself.</summary>
    public static void TriangularSolve(Tensor a, Tensor b, Tensor result, bool lower, bool transposeA = false, bool unitDiagonal = false)
    {
        const string op = "triangular_solve";
        BatchedSystem(op, a, b);
        Require.Destination(op, result, b.Shape, b.DType, b.Device);
        if (b.Length > 0) a.Device.Backend.TriangularSolve(a, b, result, lower, transposeA, unitDiagonal);
        NumericCheck.After(op, result);
    }

    /// <summary>A·X = B from a lower Cholesky factor l [batch, n, n]; b and result [batch, n, k]; result may be b itself.</summary>
    public static void CholeskySolve(Tensor l, Tensor b, Tensor result)
    {
        const string op = "cholesky_solve";
        BatchedSystem(op, l, b);
        Require.Destination(op, result, b.Shape, b.DType, b.Device);
        if (b.Length == 0) return;
        var backend = l.Device.Backend;
        backend.TriangularSolve(l, b, result, lower: true, transposeA: false, unitDiagonal: false);
        backend.TriangularSolve(l, result, result, lower: true, transposeA: true, unitDiagonal: false);
        NumericCheck.After(op, result);
    }

    /// <summary>LU of a [batch, n, n] into lu (same shape), pivots [batch, n] and info [batch] (int32).</summary>
    public static void LuFactor(Tensor a, Tensor lu, Tensor pivots, Tensor info)
    {
        const string op = "lu_factor";
        int batch = BatchedSquare(op, a);
        Require.Destination(op, lu, a.Shape, a.DType, a.Device);
        Require.Destination(op, pivots, new Shape(batch, a.Shape[2]), DType.Int32, a.Device);
        Require.Destination(op, info, new Shape(batch), DType.Int32, a.Device);
        if (a.Length > 0) a.Device.Backend.LuFactor(a, lu, pivots, info);
        NumericCheck.After(op, lu);
    }

    /// <summary>A·X = B from LuFactor's output (lu [batch, n, n], pivots [batch, n]); b and result [batch, n, k].</summary>
    public static void LuSolve(Tensor lu, Tensor pivots, Tensor b, Tensor result)
    {
        const string op = "lu_solve";
        int batch = BatchedSystem(op, lu, b);
        Require.Destination(op, pivots, new Shape(batch, lu.Shape[2]), DType.Int32, lu.Device);
        Require.Destination(op, result, b.Shape, b.DType, b.Device);
        if (b.Length > 0) lu.Device.Backend.LuSolve(lu, pivots, b, result);
        NumericCheck.After(op, result);
    }

    /// <summary>Checks a contiguous float [batch, n, n] operand of the allocation-free forms; returns batch.</summary>
    private static int BatchedSquare(string op, Tensor a)
    {
        SquareSize(op, a);
        Require.Rank(op, a, 3, "matrix batch");
        if (!a.IsContiguous)
            throw new ArgumentException($"{op}: the matrix batch must be contiguous (shape {a.Shape}, strides {a.Strides})");
        return a.Shape[0];
    }

    /// <summary>Checks a [batch, n, n] matrix and a contiguous [batch, n, k] right-hand side; returns batch.</summary>
    private static int BatchedSystem(string op, Tensor a, Tensor b)
    {
        int batch = BatchedSquare(op, a);
        Require.SameDType(op, a, b);
        Require.SameDevice(op, a, b);
        Require.Rank(op, b, 3, "right-hand side");
        if (b.Shape[0] != batch || b.Shape[1] != a.Shape[1])
            throw new TensorShapeException($"{op}: right-hand side {b.Shape} does not fit the matrices {a.Shape} (expected [{batch}, {a.Shape[1]}, k])");
        if (!b.IsContiguous)
            throw new ArgumentException($"{op}: the right-hand side must be contiguous (shape {b.Shape}, strides {b.Strides})");
        return batch;
    }

    private static Tensor LuSolve(string op, Tensor lu, Tensor pivots, Tensor b, bool treatAsVector)
    {
        using var system = LinearSystem.Prepare(op, lu, b, treatAsVector);
        Require.Int32(op, pivots);
        Require.SameDevice(op, lu, pivots);
        var expectedPivots = LeadingShape(lu.Shape, 1);
        if (pivots.Shape != expectedPivots)
            throw new TensorShapeException($"{op}: pivots have shape {pivots.Shape}, expected {expectedPivots} for lu {lu.Shape}");
        using var pivots2 = AsBatch(pivots, system.BatchShape, system.N);
        var result = system.NewResult();
        using var x = system.ResultAsBatch(result);
        if (system.HasWork) lu.Device.Backend.LuSolve(system.A, pivots2, system.B, x);
        NumericCheck.After(op, result);
        return result;
    }

    private static void ThrowIfSingular(string op, Tensor a, Tensor info)
    {
        if (LinalgInfo.FirstFailure(info, out int entry, out int pivot))
            throw new ArgumentException(
                $"{op}: matrix {LinalgInfo.BatchIndex(info.Shape, entry)} of a {a.Shape} is singular (zero pivot {pivot} in its LU factorization)");
    }

    /// <summary>n for a float [..., n, n] tensor, or an error naming the op and shape.</summary>
    internal static int SquareSize(string op, Tensor a)
    {
        Require.Float(op, a);
        Require.MinRank(op, a, 2, "matrix");
        int n = a.Shape[a.Rank - 1];
        if (a.Shape[a.Rank - 2] != n)
            throw new TensorShapeException($"{op}: expects square matrices [..., n, n], got shape {a.Shape}");
        return n;
    }

    /// <summary>The shape without its last 'drop' axes.</summary>
    internal static Shape LeadingShape(in Shape shape, int drop)
    {
        Span<int> dims = stackalloc int[shape.Rank - drop];
        for (int i = 0; i < dims.Length; i++) dims[i] = shape[i];
        return new Shape(dims);
    }

    /// <summary>t broadcast to batchShape + [rows, cols] as a contiguous [batch, rows, cols] tensor (a view when possible).</summary>
    internal static Tensor AsBatch(Tensor t, in Shape batchShape, int rows, int cols)
    {
        var full = batchShape.Insert(batchShape.Rank, rows).Insert(batchShape.Rank + 1, cols);
        if (t.IsContiguous && t.Shape == full) return t.Reshape(batchShape.Length, rows, cols);   // the common case: one view
        using var expanded = t.Expand(full);
        using var dense = expanded.Contiguous();
        return dense.Reshape(batchShape.Length, rows, cols);
    }

    /// <summary>t broadcast to batchShape + [cols] as a contiguous [batch, cols] tensor.</summary>
    internal static Tensor AsBatch(Tensor t, in Shape batchShape, int cols)
    {
        var full = batchShape.Insert(batchShape.Rank, cols);
        if (t.IsContiguous && t.Shape == full) return t.Reshape(batchShape.Length, cols);
        using var expanded = t.Expand(full);
        using var dense = expanded.Contiguous();
        return dense.Reshape(batchShape.Length, cols);
    }
}

/// <summary>
/// A matrix and right-hand side broadcast to a common batch, as the kernels want them:
/// A [batch, n, n] and B [batch, n, k], both contiguous. Dispose releases the (possibly copied) operands.
/// </summary>
internal readonly struct LinearSystem : IDisposable
{
    public Tensor A { get; init; }
    public Tensor B { get; init; }
    public Shape BatchShape { get; init; }
    public int N { get; init; }
    public int K { get; init; }
    /// <summary>b came as one column per matrix ([..., n]); the result keeps that shape.</summary>
    public bool Vector { get; init; }

    public bool HasWork => BatchShape.Length > 0 && N > 0 && K > 0;

    /// <summary>torch.linalg.solve's rule: b is a vector if it is 1-D, or if b.shape == a.shape[:-1].</summary>
    public static bool VectorRule(Tensor a, Tensor b) =>
        b.Rank == 1 || (b.Rank == a.Rank - 1 && b.Shape == Ops.LeadingShape(a.Shape, 1));

    public static LinearSystem Prepare(string op, Tensor a, Tensor b, bool vector)
    {
        int n = Ops.SquareSize(op, a);
        Require.SameDType(op, a, b);
        Require.SameDevice(op, a, b);
        if (!vector) Require.MinRank(op, b, 2, "right-hand side");
        int rows = vector ? b.Shape[b.Rank - 1] : b.Shape[b.Rank - 2];
        int k = vector ? 1 : b.Shape[b.Rank - 1];
        if (rows != n)
            throw new TensorShapeException($"{op}: matrices of a {a.Shape} have {n} rows, the right-hand side b {b.Shape} has {rows}");
        var aLead = Ops.LeadingShape(a.Shape, 2);
        var bLead = Ops.LeadingShape(b.Shape, vector ? 1 : 2);
        Shape batch;
        try { batch = Broadcast.Shapes(op, aLead, bLead); }
        catch (TensorShapeException)
        {
            throw new TensorShapeException($"{op}: batch axes of a {a.Shape} and b {b.Shape} cannot be broadcast together ({aLead} vs {bLead})");
        }
        var a3 = Ops.AsBatch(a, batch, n, n);
        Tensor b3;
        if (vector)
        {
            using var column = b.Unsqueeze(b.Rank);
            b3 = Ops.AsBatch(column, batch, n, 1);
        }
        else b3 = Ops.AsBatch(b, batch, n, k);
        return new LinearSystem { A = a3, B = b3, BatchShape = batch, N = n, K = k, Vector = vector };
    }

    /// <summary>The caller's result: batch + [n] for a vector right-hand side, else batch + [n, k].</summary>
    public Tensor NewResult()
    {
        var shape = BatchShape.Insert(BatchShape.Rank, N);
        if (!Vector) shape = shape.Insert(shape.Rank, K);
        return Tensor.Empty(shape, B.DType, B.Device);
    }

    /// <summary>A [batch, n, k] view of a result made by <see cref="NewResult"/>.</summary>
    public Tensor ResultAsBatch(Tensor result) => result.Reshape(BatchShape.Length, N, K);

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }
}

/// <summary>Reading the int32 info tensors of the factorizations.</summary>
internal static class LinalgInfo
{
    /// <summary>The first batch entry whose info is non-zero, and that info (a 1-based pivot).</summary>
    public static bool FirstFailure(Tensor info, out int entry, out int pivot)
    {
        int count = info.Length;
        if (info.Device.IsCpu) return Find(info.AsSpan<int>(), out entry, out pivot);
        var host = BufferPool.Rent<int>(count);
        try
        {
            info.Device.Backend.Download(info, host.AsSpan(0, count));
            return Find(host.AsSpan(0, count), out entry, out pivot);
        }
        finally { BufferPool.Return(host); }
    }

    private static bool Find(ReadOnlySpan<int> values, out int entry, out int pivot)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] != 0)
            {
                entry = i;
                pivot = values[i];
                return true;
            }
        }
        entry = pivot = 0;
        return false;
    }

    /// <summary>The batch index of a flat entry, like "[1, 0]" (or "[]" for a single matrix).</summary>
    public static string BatchIndex(in Shape batchShape, int flat)
    {
        Span<int> index = stackalloc int[batchShape.Rank];
        for (int axis = batchShape.Rank - 1; axis >= 0; axis--)
        {
            index[axis] = flat % batchShape[axis];
            flat /= batchShape[axis];
        }
        return Shape.Format(index);
    }
}
