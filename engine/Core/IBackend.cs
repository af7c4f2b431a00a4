namespace DiffTori.Engine;

/// <summary>
/// The kernels a device provides. Ops (<see cref="Ops"/>) check arguments, compute result shapes,
/// allocate results and call one of these; a kernel may assume its arguments are valid.
/// Conventions: "any strides" means the kernel honours Tensor.Strides/Offset (broadcast axes have
/// stride 0); "contiguous" means the caller made it dense. Results are always contiguous unless noted.
/// Float kernels support Float32 and Float64; Int32 appears only where stated.
/// </summary>
public interface IBackend
{
    Device Device { get; }

    // ----- memory -----
    /// <summary>An uninitialized buffer of the given length.</summary>
    TensorStorage Allocate(DType dtype, int length);
    /// <summary>Host → device into a contiguous tensor of matching dtype and length.</summary>
    void Upload<T>(ReadOnlySpan<T> source, Tensor destination) where T : unmanaged;
    /// <summary>Device → host from a contiguous tensor.</summary>
    void Download<T>(Tensor source, Span<T> destination) where T : unmanaged;

    // ----- data movement -----
    /// <summary>dst[i] = (dst dtype) src[i]; src broadcastable to dst.Shape; both any strides; any dtypes.</summary>
    void Copy(Tensor source, Tensor destination);
    /// <summary>Every element of dst (any strides) = value.</summary>
    void Fill(Tensor destination, double value);

    // ----- elementwise -----
    /// <summary>y = op(x); x has y's shape, any strides.</summary>
    void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1);
    /// <summary>y = a op b; a and b broadcastable to y.Shape, any strides, same dtype as y.</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y);
    /// <summary>y = cond ≠ 0 ? a : b; all three broadcastable to y.Shape, any strides.</summary>
    void Where(Tensor condition, Tensor a, Tensor b, Tensor y);

    // ----- reductions (x contiguous, viewed as [outer, n, inner]; y has outer·inner elements) -----
    void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y, double p0);
    /// <summary>Softmax (or log-softmax) along n of [outer, n, inner]; y has x's shape.</summary>
    void Softmax(Tensor x, int outer, int n, int inner, Tensor y, bool log);
    /// <summary>
    /// Normalize each of the rows of a contiguous [rows, n] x: y = (x − mean)·rstd, with mean and
    /// rstd = 1/sqrt(var + eps) (population variance) written to [rows] tensors.
    /// </summary>
    void LayerNorm(Tensor x, int rows, int n, double eps, Tensor y, Tensor mean, Tensor rstd);

    // ----- matrix products and convolution (contiguous operands) -----
    void Gemm(Tensor a, Tensor b, Tensor c, in GemmSpec spec);
    void Conv2d(Tensor x, Tensor weight, Tensor y, in ConvSpec spec);
    /// <summary>dx = ∂(conv)/∂x applied to dy (a transposed convolution); overwrites dx.</summary>
    void Conv2dInputGrad(Tensor dy, Tensor weight, Tensor dx, in ConvSpec spec);
    /// <summary>dw = ∂(conv)/∂w applied to dy; overwrites dw.</summary>
    void Conv2dWeightGrad(Tensor x, Tensor dy, Tensor dw, in ConvSpec spec);
    /// <summary>Max pooling; argmax (int32, y's shape) holds the flat h·W+w index of each maximum in its plane.</summary>
    void MaxPool2d(Tensor x, Tensor y, Tensor argmax, in PoolSpec spec);
    /// <summary>dx (zeroed by the kernel) receives dy at each argmax.</summary>
    void MaxPool2dBackward(Tensor dy, Tensor argmax, Tensor dx, in PoolSpec spec);
    /// <summary>Average pooling; padded cells count in the divisor (PyTorch's count_include_pad).</summary>
    void AvgPool2d(Tensor x, Tensor y, in PoolSpec spec);
    void AvgPool2dBackward(Tensor dy, Tensor dx, in PoolSpec spec);

    // ----- indexing (contiguous, viewed as [outer, n, inner]; index int32) -----
    /// <summary>y[o, j, i] = x[o, index[j], i]; x is [outer, n, inner], index [k], y [outer, k, inner].</summary>
    void IndexSelect(Tensor x, int outer, int n, int inner, Tensor index, Tensor y);
    /// <summary>y[o, index[j], i] += src[o, j, i]; y is [outer, n, inner] (not cleared), src [outer, k, inner].</summary>
    void IndexAdd(Tensor src, int outer, int n, int inner, Tensor index, Tensor y);
    /// <summary>y[o, j, i] = x[o, index[o, j, i], i]; x [outer, n, inner], index and y [outer, k, inner].</summary>
    void Gather(Tensor x, int outer, int n, int inner, Tensor index, int k, Tensor y);
    /// <summary>y[o, index[o, j, i], i] += src[o, j, i]; y [outer, n, inner] (not cleared), index and src [outer, k, inner].</summary>
    void ScatterAdd(Tensor src, int outer, int n, int inner, Tensor index, int k, Tensor y);

    // ----- batched dense linear algebra (contiguous [batch, n, n] matrices) -----
    /// <summary>Lower Cholesky factor L (upper triangle zeroed). info[b] = 0 on success, else the 1-based
    /// index of the first non-positive pivot (L[b] is then undefined). Never throws for a bad matrix.</summary>
    void Cholesky(Tensor a, Tensor l, Tensor info);
    /// <summary>Solve op(A)·X = B for X, A triangular [batch, n, n], B and X [batch, n, k].</summary>
    void TriangularSolve(Tensor a, Tensor b, Tensor x, bool lower, bool transposeA, bool unitDiagonal);
    /// <summary>LU with partial pivoting: P·A = L·U packed in lu; pivots [batch, n] int32 (row swapped with
    /// row i at step i, 0-based); info[b] = 0, or 1-based index of the first zero pivot.</summary>
    void LuFactor(Tensor a, Tensor lu, Tensor pivots, Tensor info);
    /// <summary>Solve A·X = B from LuFactor's output; B and X [batch, n, k].</summary>
    void LuSolve(Tensor lu, Tensor pivots, Tensor b, Tensor x);

    // ----- counter-based random numbers (see Philox): element i uses counter + i -----
    void RandomUniform(Tensor y, ulong seed, ulong counter, double low, double high);
    void RandomNormal(Tensor y, ulong seed, ulong counter, double mean, double std);
    /// <summary>Normal(mean, std) restricted to [low, high] (absolute bounds, like torch's trunc_normal_).</summary>
    void RandomTruncatedNormal(Tensor y, ulong seed, ulong counter, double mean, double std, double low, double high);
    /// <summary>Int32 uniform in [low, high).</summary>
    void RandomIntegers(Tensor y, ulong seed, ulong counter, int low, int high);
}
