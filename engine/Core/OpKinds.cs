namespace DiffTori.Engine;

/// <summary>Elementwise functions of one tensor. p0/p1 are the op's scalar parameters where it has any.</summary>
public enum UnaryOp
{
    Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Relu,
    /// <summary>x &gt; 0 ? x : p0·(eˣ − 1); p0 = alpha.</summary>
    Elu,
    Silu, Mish,
    /// <summary>log(1 + e^(p0·x)) / p0, and x where p0·x &gt; p1; p0 = beta, p1 = threshold.</summary>
    Softplus,
    Abs, Sign, Sin, Cos, Square, Reciprocal,
    /// <summary>min(max(x, p0), p1).</summary>
    Clamp,
    /// <summary>x^p0.</summary>
    PowScalar,
    /// <summary>p0·x + p1 (covers add/multiply by a scalar and "c − x").</summary>
    Affine,
    /// <summary>p0 / x.</summary>
    DivScalarBy,
    /// <summary>1 where x &gt; p0, else 0 (and the others below likewise).</summary>
    GreaterScalar, GreaterEqualScalar, LessScalar, LessEqualScalar, EqualScalar,
    /// <summary>max(x, p0).</summary>
    MaxScalar,
    /// <summary>min(x, p0).</summary>
    MinScalar,
    /// <summary>1 where x is NaN or ±∞, else 0.</summary>
    IsNonFinite,
}

/// <summary>Elementwise functions of two broadcast tensors. Comparisons give 1 or 0 in the operands' dtype.</summary>
public enum BinaryOp
{
    Add, Sub, Mul, Div, Max, Min, Pow,
    Equal, NotEqual, Greater, GreaterEqual, Less, LessEqual,
}

/// <summary>Reductions over the middle axis of an [outer, n, inner] layout.</summary>
public enum ReduceOp
{
    Sum, Mean, Max, Min,
    /// <summary>Index (int32) of the first maximum.</summary>
    ArgMax,
    /// <summary>Index (int32) of the first minimum.</summary>
    ArgMin,
    /// <summary>log Σ exp, computed stably (max subtracted).</summary>
    LogSumExp,
    /// <summary>Variance with p0 = correction (1 = unbiased, 0 = population), stable two-pass.</summary>
    Var,
}

/// <summary>
/// One (batched) matrix product C = alpha·op(A)·op(B) + beta·C over contiguous row-major matrices.
/// op(A) is M×K (A stored K×M when TransA), op(B) is K×N (B stored N×K when TransB), C is M×N.
/// Batch i reads A at OffsetA + i·BatchStrideA (0 broadcasts one matrix to every batch), likewise B and C.
/// </summary>
public readonly record struct GemmSpec(
    int Batch, int M, int N, int K,
    bool TransA, bool TransB,
    double Alpha, double Beta,
    int BatchStrideA, int BatchStrideB, int BatchStrideC);

/// <summary>
/// A 2-D convolution (1-D is H = 1). Input [N, C, H, W], weight [O, C/Groups, KH, KW], output [N, O, OH, OW],
/// OH = (H + 2·PH − DH·(KH − 1) − 1) / SH + 1 and likewise OW. Cross-correlation, as in PyTorch.
/// </summary>
public readonly record struct ConvSpec(
    int N, int C, int H, int W,
    int O, int KH, int KW,
    int SH, int SW, int PH, int PW, int DH, int DW, int Groups)
{
    public int OH => (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
    public int OW => (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
}

/// <summary>2-D pooling over [N, C, H, W]: window KH×KW, stride, zero/−∞ padding. Output [N, C, OH, OW].</summary>
public readonly record struct PoolSpec(int N, int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW)
{
    public int OH => (H + 2 * PH - KH) / SH + 1;
    public int OW => (W + 2 * PW - KW) / SW + 1;
}
