namespace DiffTori.Engine;

/// <summary>The activation applied in a linear layer's epilogue (see <see cref="Ops.LinearActivation"/>).</summary>
public enum LinearEpilogue
{
    None,
    /// <summary>x for x &gt; 0, α(eˣ − 1) otherwise.</summary>
    Elu,
}

public static partial class Ops
{
    /// <summary>
    /// act(x·Wᵀ + bias) for x [..., in], weight [out, in], bias [out] or null. A single input row on the CPU
    /// (batch 1) runs as one pass over W split between the cores, with the bias and activation in the
    /// epilogue; more rows on the CPU run the GEMM (beta = 0) and then bias and activation in one pass over
    /// the output; other devices run <see cref="Linear"/> and the activation in place.
    /// </summary>
    public static Tensor LinearActivation(Tensor x, Tensor weight, Tensor? bias, LinearEpilogue activation, double alpha = 1.0)
    {
        if (activation is not (LinearEpilogue.None or LinearEpilogue.Elu))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "linear: unknown epilogue");
        if (IsRowLinear(x, weight, bias))
        {
            var y = Tensor.Empty(x.Shape.With(x.Rank - 1, weight.Shape[0]), x.DType, x.Device);
            bool elu = activation == LinearEpilogue.Elu;
            if (x.DType == DType.Float32)
                RowLinearJob<float>.ForThisThread.Forward(weight.CpuArray<float>(), weight.Offset, x.CpuArray<float>(), x.Offset,
                    bias?.CpuArray<float>(), bias?.Offset ?? 0, y.CpuArray<float>(), y.Offset, weight.Shape[0], weight.Shape[1], elu, (float)alpha);
            else
                RowLinearJob<double>.ForThisThread.Forward(weight.CpuArray<double>(), weight.Offset, x.CpuArray<double>(), x.Offset,
                    bias?.CpuArray<double>(), bias?.Offset ?? 0, y.CpuArray<double>(), y.Offset, weight.Shape[0], weight.Shape[1], elu, alpha);
            NumericCheck.After("linear", y);
            return y;
        }
        if (IsBatchedCpuLinear(x, weight, bias))
        {
            // The product with beta = 0, then bias and activation in one pass over the output.
            int inFeatures = weight.Shape[1], outFeatures = weight.Shape[0], rows = x.Length / inFeatures;
            var y = Tensor.Empty(x.Shape.With(x.Rank - 1, outFeatures), x.DType, x.Device);
            using (var x2 = x.Reshape(rows, inFeatures))
            using (var y2 = y.Reshape(rows, outFeatures))
                Matmul(x2, weight, y2, transB: true);
            bool elu = activation == LinearEpilogue.Elu;
            if (x.DType == DType.Float32)
                BiasActivationJob<float>.ForThisThread.Run(y.CpuArray<float>(), y.Offset, rows, outFeatures, bias?.CpuArray<float>(), bias?.Offset ?? 0, elu, (float)alpha);
            else
                BiasActivationJob<double>.ForThisThread.Run(y.CpuArray<double>(), y.Offset, rows, outFeatures, bias?.CpuArray<double>(), bias?.Offset ?? 0, elu, alpha);
            NumericCheck.After("linear", y);
            return y;
        }
        var result = Linear(x, weight, bias);
        if (activation == LinearEpilogue.Elu) Unary(UnaryOp.Elu, result, result, alpha);
        return result;
    }

    /// <summary>Whether the batched CPU path applies: dense x with at least one row, dense W and bias, float32/64.</summary>
    private static bool IsBatchedCpuLinear(Tensor x, Tensor weight, Tensor? bias)
    {
        int inFeatures = x.Shape[x.Rank - 1];
        if (weight.Shape[1] != inFeatures || inFeatures == 0 || x.Length == 0 || weight.Shape[0] == 0) return false;
        if (bias is not null && (bias.DType != x.DType || bias.Device != x.Device || bias.Rank != 1 || bias.Shape[0] != weight.Shape[0] || !bias.IsContiguous))
            return false;
        return x.Device.IsCpu && x.IsContiguous && weight.Device.IsCpu;
    }

    /// <summary>
    /// The gradients of y = x·Wᵀ + b for a single input row: gradX = g·W (written, shape of x) and
    /// gradWeight = gᵀ·x (written, or added when accumulate), for g [1, out] or [out], x [1, in] or [in],
    /// weight [out, in]; either result may be null. On the CPU one pass over W split between the cores
    /// computes both; elsewhere two matrix products.
    /// </summary>
    public static void LinearBackwardRow(Tensor g, Tensor x, Tensor weight, Tensor? gradX, Tensor? gradWeight, bool accumulate)
    {
        Require.Float("linear backward", g);
        Require.SameDType("linear backward", g, x);
        Require.SameDType("linear backward", g, weight);
        Require.Rank("linear backward", weight, 2, "weight");
        int outFeatures = weight.Shape[0], inFeatures = weight.Shape[1];
        if (g.Length != outFeatures || x.Length != inFeatures || g.Shape[g.Rank - 1] != outFeatures || x.Shape[x.Rank - 1] != inFeatures)
            throw new TensorShapeException($"linear backward: one row expected, got g {g.Shape} and x {x.Shape} for weight {weight.Shape}");
        if (gradX is not null) Require.Destination("linear backward", gradX, x.Shape, x.DType, x.Device);
        if (gradWeight is not null) Require.Destination("linear backward", gradWeight, weight.Shape, weight.DType, weight.Device);
        if (!TryRowBackwardKernel(weight, g, x, gradWeight, accumulate, gradX, dots: null, outFeatures, inFeatures))
        {
            using var gRow = g.Reshape(1, outFeatures);
            using var xRow = x.Reshape(1, inFeatures);
            if (gradX is not null)
            {
                using var gradXRow = gradX.Reshape(1, inFeatures);
                Matmul(gRow, weight, gradXRow);
            }
            if (gradWeight is not null) Matmul(gRow, xRow, gradWeight, transA: true, beta: accumulate ? 1 : 0);
        }
        if (gradX is not null) NumericCheck.After("linear backward", gradX);
        if (gradWeight is not null) NumericCheck.After("linear backward", gradWeight);
    }

    /// <summary>
    /// The one-pass CPU kernel behind <see cref="LinearBackwardRow"/> and <see cref="RowMatmulBackward"/>: for each row o
    /// of w [rows, cols], gradW[o,:] = g[o]·x (or added), gradX += g[o]·w[o,:] and dots[o] = w[o,:]·x. False (nothing
    /// written) when an operand is off the CPU, strided or not float32/64; the caller then uses matrix products.
    /// </summary>
    private static bool TryRowBackwardKernel(Tensor w, Tensor g, Tensor x, Tensor? gradW, bool accumulate, Tensor? gradX, Tensor? dots, int rows, int cols)
    {
        bool dense = w.Device.IsCpu && g.Device.IsCpu && x.Device.IsCpu && w.IsContiguous && g.IsContiguous && x.IsContiguous
            && (gradW is null || gradW.IsContiguous) && (gradX is null || gradX.IsContiguous) && (dots is null || dots.IsContiguous);
        if (dense && g.DType == DType.Float32)
            RowLinearJob<float>.ForThisThread.Backward(w.CpuArray<float>(), w.Offset, g.CpuArray<float>(), g.Offset, x.CpuArray<float>(), x.Offset,
                gradW?.CpuArray<float>(), gradW?.Offset ?? 0, accumulate, gradX?.CpuArray<float>(), gradX?.Offset ?? 0, rows, cols,
                dots?.CpuArray<float>(), dots?.Offset ?? 0);
        else if (dense && g.DType == DType.Float64)
            RowLinearJob<double>.ForThisThread.Backward(w.CpuArray<double>(), w.Offset, g.CpuArray<double>(), g.Offset, x.CpuArray<double>(), x.Offset,
                gradW?.CpuArray<double>(), gradW?.Offset ?? 0, accumulate, gradX?.CpuArray<double>(), gradX?.Offset ?? 0, rows, cols,
                dots?.CpuArray<double>(), dots?.Offset ?? 0);
        else return false;
        return true;
    }

    /// <summary>Whether act(x·Wᵀ + b) takes the batch-1 CPU kernel: one dense row, dense W and bias, float32/64.</summary>
    private static bool IsRowLinear(Tensor x, Tensor weight, Tensor? bias)
    {
        Require.Float("linear", x);
        Require.SameDType("linear", x, weight);
        Require.SameDevice("linear", x, weight);
        Require.MinRank("linear", x, 1, "x");
        Require.Rank("linear", weight, 2, "weight");
        int inFeatures = x.Shape[x.Rank - 1];
        if (weight.Shape[1] != inFeatures || x.Length != inFeatures || inFeatures == 0 || weight.Shape[0] == 0) return false; // Linear reports shape errors
        if (bias is not null && (bias.DType != x.DType || bias.Device != x.Device || bias.Rank != 1 || bias.Shape[0] != weight.Shape[0] || !bias.IsContiguous))
            return false;
        return x.Device.IsCpu && x.IsContiguous && weight.IsContiguous;
    }
}
