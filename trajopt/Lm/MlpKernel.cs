using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.Intrinsics;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// A <see cref="Sequential"/> of Linear, ELU, tanh and ReLU layers evaluated on one float32 row without a
/// graph: the forward pass keeps what its input-gradient needs in preallocated buffers ("slots", one per
/// use of the network within a residual, e.g. one per time step), and <see cref="InputVjp"/> runs the
/// vector–Jacobian product with respect to the input from a slot. Weights are read in place from the
/// parameters (current values, no copies). Consecutive slots are stored contiguously, so several uses of the
/// network whose inputs are all known (the reward at every step) run as one batch that reads the weights
/// once. Nothing is allocated after construction.
/// </summary>
internal sealed class MlpKernel
{
    private enum Kind { Linear, Elu, Tanh, Relu }

    private readonly Kind[] _kinds;
    private readonly Linear?[] _linears;
    private readonly double[] _alpha;
    private readonly int[] _width;           // output width of each layer
    private readonly float[][] _out;         // [layer] outputs, slot s at s·width
    private readonly float[] _in;            // the network's inputs, slot s at s·InDim
    private readonly float[] _gradA, _gradB; // ping-pong buffers of the backward pass

    private MlpKernel(Kind[] kinds, Linear?[] linears, double[] alpha, int[] width, int inDim, int slots)
    {
        _kinds = kinds;
        _linears = linears;
        _alpha = alpha;
        _width = width;
        InDim = inDim;
        OutDim = width[^1];
        Slots = slots;
        int widest = Math.Max(inDim, width.Max());
        _in = new float[slots * inDim];
        _out = new float[kinds.Length][];
        for (int l = 0; l < kinds.Length; l++) _out[l] = new float[slots * width[l]];
        _gradA = new float[slots * widest];
        _gradB = new float[slots * widest];
    }

    public int InDim { get; }
    public int OutDim { get; }
    public int Slots { get; }

    /// <summary>The kernel of <paramref name="net"/>, or null (with the reason) when a layer, dtype or device is not supported.</summary>
    public static MlpKernel? TryCreate(Sequential net, int slots, out string? reason)
    {
        int n = net.Count;
        var kinds = new Kind[n];
        var linears = new Linear?[n];
        var alpha = new double[n];
        var width = new int[n];
        int inDim = -1, current = -1;
        for (int l = 0; l < n; l++)
        {
            switch (net[l])
            {
                case Linear lin:
                    if (!IsDenseCpuFloat(lin.Weight.Value) || (lin.Bias is { } b && !IsDenseCpuFloat(b.Value)))
                    {
                        reason = $"layer {l} (Linear {lin.InFeatures}→{lin.OutFeatures}) is not a dense float32 CPU tensor";
                        return null;
                    }
                    if (current >= 0 && current != lin.InFeatures)
                    {
                        reason = $"layer {l} (Linear {lin.InFeatures}→{lin.OutFeatures}) follows a layer of width {current}";
                        return null;
                    }
                    if (inDim < 0) inDim = lin.InFeatures;
                    kinds[l] = Kind.Linear;
                    linears[l] = lin;
                    current = lin.OutFeatures;
                    break;
                case Elu e: kinds[l] = Kind.Elu; alpha[l] = e.Alpha; break;
                case Autodiff.Nn.Tanh: kinds[l] = Kind.Tanh; break;
                case Relu: kinds[l] = Kind.Relu; break;
                default:
                    reason = $"layer {l} ({net[l].GetType().Name}) has no batch-1 kernel";
                    return null;
            }
            if (current < 0)
            {
                reason = $"layer {l} ({net[l].GetType().Name}) comes before the first Linear";
                return null;
            }
            width[l] = current;
        }
        if (n == 0 || inDim < 0)
        {
            reason = "the network has no Linear layer";
            return null;
        }
        reason = null;
        return new MlpKernel(kinds, linears, alpha, width, inDim, slots);
    }

    /// <summary>y = x where x &gt; 0, else α(eˣ − 1).</summary>
    private static void EluForward(ReadOnlySpan<float> x, Span<float> y, float alpha)
    {
        TensorPrimitives.Exp(x, y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(alpha);
            for (; i + 16 <= x.Length; i += 16)
            {
                var xv = Vector512.Create(x.Slice(i, 16));
                var neg = va * (Vector512.Create((ReadOnlySpan<float>)y.Slice(i, 16)) - Vector512<float>.One);
                Vector512.ConditionalSelect(Vector512.GreaterThan(xv, Vector512<float>.Zero), xv, neg).CopyTo(y.Slice(i, 16));
            }
        }
        for (; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : alpha * (y[i] - 1);
    }

    /// <summary>As F.Elu's rule: ȳ where x &gt; 0, else ȳ·(y + α), in place.</summary>
    private static void EluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> g, float alpha)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(alpha);
            for (; i + 16 <= g.Length; i += 16)
            {
                var gv = Vector512.Create((ReadOnlySpan<float>)g.Slice(i, 16));
                var scaled = gv * (Vector512.Create(y.Slice(i, 16)) + va);
                Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Create(x.Slice(i, 16)), Vector512<float>.Zero), gv, scaled).CopyTo(g.Slice(i, 16));
            }
        }
        for (; i < g.Length; i++) if (!(x[i] > 0)) g[i] *= y[i] + alpha;
    }

    private static bool IsDenseCpuFloat(Tensor t) => t.DType == DType.Float32 && t.Device.IsCpu && t.IsContiguous;

    /// <summary>y = net(x), remembering in <paramref name="slot"/> what <see cref="InputVjp"/> needs.</summary>
    public void Forward(int slot, ReadOnlySpan<float> x, Span<float> y) => Forward(slot, 1, x, y);

    /// <summary>x̄ = (∂net/∂x)ᵀ·ȳ at the input last passed to <see cref="Forward(int, ReadOnlySpan{float}, Span{float})"/> in <paramref name="slot"/>.</summary>
    public void InputVjp(int slot, ReadOnlySpan<float> yBar, Span<float> xBar) => InputVjp(slot, 1, yBar, xBar);

    /// <summary>Rows ys [count, OutDim] = net(xs [count, InDim]) into slots first … first + count − 1.</summary>
    public void Forward(int first, int count, ReadOnlySpan<float> xs, Span<float> ys)
    {
        if (first < 0 || count < 1 || first + count > Slots)
            throw new ArgumentOutOfRangeException(nameof(first), $"MlpKernel: slots {first}..{first + count - 1} of {Slots}");
        var input = _in.AsSpan(first * InDim, count * InDim);
        xs[..input.Length].CopyTo(input);
        ReadOnlySpan<float> prev = input;
        int prevWidth = InDim;
        for (int l = 0; l < _kinds.Length; l++)
        {
            var o = _out[l].AsSpan(first * _width[l], count * _width[l]);
            switch (_kinds[l])
            {
                case Kind.Linear:
                    var lin = _linears[l]!;
                    RowGemv.ForwardBatch(lin.Weight.Value.AsSpan<float>(), lin.Bias is { } b ? b.Value.AsSpan<float>() : default, prev, o, lin.OutFeatures, prevWidth, count);
                    break;
                case Kind.Elu:
                    EluForward(prev, o, (float)_alpha[l]);
                    break;
                case Kind.Tanh:
                    TensorPrimitives.Tanh(prev, o);
                    break;
                case Kind.Relu:
                    TensorPrimitives.Max(prev, 0f, o);
                    break;
            }
            prev = o;
            prevWidth = _width[l];
        }
        prev.CopyTo(ys);
    }

    /// <summary>Rows xBars [count, InDim] = (∂net/∂x)ᵀ·yBars [count, OutDim] at the inputs of slots first … first + count − 1.</summary>
    public void InputVjp(int first, int count, ReadOnlySpan<float> yBars, Span<float> xBars)
    {
        if (first < 0 || count < 1 || first + count > Slots)
            throw new ArgumentOutOfRangeException(nameof(first), $"MlpKernel: slots {first}..{first + count - 1} of {Slots}");
        var g = _gradA.AsSpan(0, count * OutDim);
        yBars[..g.Length].CopyTo(g);
        var spare = _gradB;
        for (int l = _kinds.Length - 1; l >= 0; l--)
        {
            var o = _out[l].AsSpan(first * _width[l], count * _width[l]);
            ReadOnlySpan<float> input = l == 0 ? _in.AsSpan(first * InDim, count * InDim) : _out[l - 1].AsSpan(first * _width[l - 1], count * _width[l - 1]);
            switch (_kinds[l])
            {
                case Kind.Linear:
                    var lin = _linears[l]!;
                    var next = spare.AsSpan(0, count * lin.InFeatures);
                    RowGemv.TransposedBatch(lin.Weight.Value.AsSpan<float>(), g, next, lin.OutFeatures, lin.InFeatures, count);
                    // Swap the buffers: the one just written carries the gradient on.
                    spare = ReferenceEquals(spare, _gradA) ? _gradB : _gradA;
                    g = next;
                    break;
                case Kind.Elu:
                    EluBackward(input, o, g, (float)_alpha[l]);
                    break;
                case Kind.Tanh:
                    for (int i = 0; i < g.Length; i++) g[i] *= 1 - o[i] * o[i];
                    break;
                case Kind.Relu:
                    for (int i = 0; i < g.Length; i++) if (!(input[i] > 0)) g[i] = 0;
                    break;
            }
        }
        g.CopyTo(xBars);
    }
}
