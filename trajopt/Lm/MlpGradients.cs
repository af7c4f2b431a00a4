using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace DiffTori.TrajOpt;

/// <summary>
/// Parameter gradients of one network collected over a graph-free backward pass (<see cref="MlpKernel.SecondOrderVjp"/>):
/// every use of a Linear layer adds rank-one terms ȳ·xᵀ to its weight gradient, and there are many uses (each time
/// step, each recorded iteration, a primal and a tangent term each), so the pairs (ȳ, x) are staged as rows and
/// summed at the end in one product Lᵀ·R per weight, whose inner size is the number of terms. Biases and LayerNorm
/// scales and shifts are vectors and are summed as they come (a bias in float32, as the graph's sums; LayerNorm's in float64).
/// </summary>
internal sealed class MlpGradients
{
    private readonly Linear?[] _linears;
    private readonly LayerNorm?[] _norms;
    private readonly Tensor?[] _left, _right; // [layer] staged rows ȳ [capacity, out] and x [capacity, in]
    private readonly int[] _staged;            // [layer] rows staged
    private readonly float[]?[] _bias;
    private readonly double[]?[] _normWeight, _normBias;

    public MlpGradients(Linear?[] linears, LayerNorm?[] norms)
    {
        _linears = linears;
        _norms = norms;
        int n = linears.Length;
        _left = new Tensor?[n];
        _right = new Tensor?[n];
        _staged = new int[n];
        _bias = new float[]?[n];
        _normWeight = new double[]?[n];
        _normBias = new double[]?[n];
        for (int l = 0; l < n; l++)
        {
            if (linears[l] is { } lin && lin.Bias is not null) _bias[l] = new float[lin.OutFeatures];
            if (norms[l] is { } ln)
            {
                int width = ln.NormalizedShape[0];
                if (ln.Weight is not null) _normWeight[l] = new double[width];
                if (ln.Bias is not null) _normBias[l] = new double[width];
            }
        }
    }

    /// <summary>The network's parameters in the order of <see cref="Finish"/>: per layer, a Linear's weight and bias, a LayerNorm's scale and shift.</summary>
    public IEnumerable<Var> Parameters()
    {
        for (int l = 0; l < _linears.Length; l++)
        {
            if (_linears[l] is { } lin)
            {
                yield return lin.Weight;
                if (lin.Bias is { } b) yield return b;
            }
            else if (_norms[l] is { } ln)
            {
                if (ln.Weight is { } w) yield return w;
                if (ln.Bias is { } b) yield return b;
            }
        }
    }

    /// <summary>Forget everything staged or summed (a new backward pass).</summary>
    public void Clear()
    {
        Array.Clear(_staged);
        foreach (var v in _bias) if (v is not null) Array.Clear(v);
        foreach (var v in _normWeight) if (v is not null) Array.Clear(v);
        foreach (var v in _normBias) if (v is not null) Array.Clear(v);
    }

    /// <summary>
    /// For count uses of Linear layer l with inputs x, input tangents ẋ, output adjoints a and their tangents ȧ
    /// (rows of each, [count, ·]) and per-row weights r̄: W̄ += Σ (r̄·a + ȧ)·xᵀ + a·ẋᵀ and b̄ += Σ r̄·a + ȧ.
    /// </summary>
    public void StageLinear(int l, ReadOnlySpan<float> a, ReadOnlySpan<float> aDot, ReadOnlySpan<float> rBar,
        ReadOnlySpan<float> x, ReadOnlySpan<float> xDot, int count)
    {
        var lin = _linears[l]!;
        int outDim = lin.OutFeatures, inDim = lin.InFeatures;
        Reserve(l, _staged[l] + 2 * count, outDim, inDim);
        var left = _left[l]!.AsSpan<float>();
        var right = _right[l]!.AsSpan<float>();
        var bias = _bias[l];
        for (int row = 0; row < count; row++)
        {
            var ar = a.Slice(row * outDim, outDim);
            int k = _staged[l];
            var c = left.Slice(k * outDim, outDim);
            TensorPrimitives.MultiplyAdd(ar, rBar[row], aDot.Slice(row * outDim, outDim), c);
            x.Slice(row * inDim, inDim).CopyTo(right.Slice(k * inDim, inDim));
            ar.CopyTo(left.Slice((k + 1) * outDim, outDim));
            xDot.Slice(row * inDim, inDim).CopyTo(right.Slice((k + 1) * inDim, inDim));
            _staged[l] = k + 2;
            if (bias is not null) TensorPrimitives.Add(bias, c, bias);
        }
    }

    /// <summary>
    /// For count uses of LayerNorm layer l (x̂ and its tangent per row), output adjoints a, ȧ and weights r̄:
    /// w̄ += Σ (r̄·a + ȧ)⊙x̂ + a⊙x̂̇ and b̄ += Σ r̄·a + ȧ.
    /// </summary>
    public void StageNorm(int l, ReadOnlySpan<float> a, ReadOnlySpan<float> aDot, ReadOnlySpan<float> rBar,
        ReadOnlySpan<float> normalized, ReadOnlySpan<float> normalizedDot, int count, int width)
    {
        double[]? w = _normWeight[l], b = _normBias[l];
        for (int row = 0; row < count; row++)
        {
            int o = row * width;
            float weight = rBar[row];
            for (int i = 0; i < width; i++)
            {
                double c = weight * a[o + i] + aDot[o + i];
                if (w is not null) w[i] += c * normalized[o + i] + (double)a[o + i] * normalizedDot[o + i];
                if (b is not null) b[i] += c;
            }
        }
    }

    /// <summary>
    /// The gradients, in the order of <see cref="Parameters"/> (null for a layer that nothing reached): each weight's
    /// staged rows summed in one product Lᵀ·R.
    /// </summary>
    public IEnumerable<Tensor?> Finish()
    {
        for (int l = 0; l < _linears.Length; l++)
        {
            if (_linears[l] is { } lin)
            {
                if (_staged[l] == 0)
                {
                    yield return null;
                    if (lin.Bias is not null) yield return null;
                    continue;
                }
                using (var left = _left[l]!.Narrow(0, 0, _staged[l]))
                using (var right = _right[l]!.Narrow(0, 0, _staged[l]))
                    yield return Ops.Matmul(left, right, transA: true);
                if (lin.Bias is { } b) yield return Tensor.FromArray<float>(_bias[l]!, b.Value.Shape);
            }
            else if (_norms[l] is { } ln)
            {
                if (ln.Weight is { } w) yield return Tensor.FromDoubles(_normWeight[l]!, w.Value.Shape, DType.Float32);
                if (ln.Bias is { } b) yield return Tensor.FromDoubles(_normBias[l]!, b.Value.Shape, DType.Float32);
            }
        }
    }

    /// <summary>Room for <paramref name="rows"/> staged rows of layer l (doubling, keeping what is staged).</summary>
    private void Reserve(int l, int rows, int outDim, int inDim)
    {
        int capacity = _left[l]?.Shape[0] ?? 0;
        if (rows <= capacity) return;
        int grown = Math.Max(rows, Math.Max(16, 2 * capacity));
        _left[l] = Regrow(_left[l], grown, outDim, _staged[l]);
        _right[l] = Regrow(_right[l], grown, inDim, _staged[l]);
    }

    private static Tensor Regrow(Tensor? old, int capacity, int width, int used)
    {
        var bigger = Tensor.Empty(new Shape(capacity, width), DType.Float32);
        if (old is not null)
        {
            old.AsSpan<float>()[..(used * width)].CopyTo(bigger.AsSpan<float>());
            old.Dispose();
        }
        return bigger;
    }
}
