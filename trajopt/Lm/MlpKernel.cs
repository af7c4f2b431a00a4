using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// A <see cref="Sequential"/> of Linear, LayerNorm (over the last axis), ELU, tanh and ReLU layers (optionally
/// followed by a tanh of the output, as a squashed policy) evaluated on one float32 row without a
/// graph: the forward pass keeps what its input-gradient needs in preallocated buffers ("slots", one per
/// use of the network within a residual, e.g. one per time step), and <see cref="InputVjp"/> runs the
/// vector–Jacobian product with respect to the input from a slot. Weights are read in place from the
/// parameters (current values, no copies), except the large matrices that <see cref="RowGemv.PacksWell"/>, the
/// narrow first layers that <see cref="NarrowGemv.Suits"/> and the short last layers whose transpose it suits: those
/// are read, in both directions, from packed copies taken at construction and again by each
/// <see cref="RefreshPanels"/> (the owner calls it whenever the weights may have changed). Consecutive slots are stored contiguously, so several uses of the network whose inputs are all known
/// (the reward at every step, or every example of a batch) run as one batch that reads the weights once; a row's
/// result is the same whichever rows share its batch. Nothing is allocated after construction.
/// </summary>
internal sealed partial class MlpKernel
{
    private enum Kind { Linear, LayerNorm, Elu, Tanh, Relu }

    private readonly Kind[] _kinds;
    private readonly Linear?[] _linears;
    private readonly LayerNorm?[] _norms;
    private readonly float[][] _normalized;  // [layer] x̂ of a LayerNorm, slot s at s·width (empty for other layers)
    private readonly float[][] _rstd;        // [layer] 1/√(var + ε) of a LayerNorm, one per slot
    private readonly double[] _alpha;
    private readonly int[] _width;           // output width of each layer
    private readonly AlignedFloats[] _out;         // [layer] outputs, slot s at s·width
    private readonly AlignedFloats _in;            // the network's inputs, slot s at s·InDim
    private readonly AlignedFloats _gradA, _gradB; // ping-pong buffers of the backward pass
    private readonly AlignedFloats?[] _panels;     // [layer] the packed copy of a large Linear weight (null for other layers)
    private readonly AlignedFloats?[] _narrow;     // [layer] a narrow Linear's W (few inputs) in NarrowGemv's blocked layout, for both directions (null for others)
    private readonly AlignedFloats?[] _short;      // [layer] a short Linear's Wᵀ (few outputs) in the same layout, for both directions (null for others)

    private MlpKernel(Kind[] kinds, Linear?[] linears, LayerNorm?[] norms, double[] alpha, int[] width, int inDim, int slots,
        AlignedFloats?[]? panels = null, AlignedFloats?[]? narrow = null, AlignedFloats?[]? shortCopies = null)
    {
        _kinds = kinds;
        _linears = linears;
        _norms = norms;
        _alpha = alpha;
        _width = width;
        InDim = inDim;
        OutDim = width[^1];
        Slots = slots;
        int widest = Math.Max(inDim, width.Max());
        // Aligned, as the packed weights: the kernels load whole vectors of activations and gradients too.
        _in = new AlignedFloats(slots * inDim);
        _out = new AlignedFloats[kinds.Length];
        _normalized = new float[kinds.Length][];
        _rstd = new float[kinds.Length][];
        for (int l = 0; l < kinds.Length; l++)
        {
            _out[l] = new AlignedFloats(slots * width[l]);
            bool norm = kinds[l] == Kind.LayerNorm;
            _normalized[l] = norm ? new float[slots * width[l]] : [];
            _rstd[l] = norm ? new float[slots] : [];
        }
        _gradA = new AlignedFloats(slots * widest);
        _gradB = new AlignedFloats(slots * widest);
        // A larger copy of the same network shares the packed weights (and keeps them as they were taken).
        bool shared = panels is not null && narrow is not null && shortCopies is not null;
        _panels = panels ?? Array.ConvertAll(linears, l => l is not null && RowGemv.PacksWell(l.OutFeatures, l.InFeatures) ? new AlignedFloats(l.OutFeatures * l.InFeatures) : null);
        _narrow = narrow ?? Array.ConvertAll(linears, l => l is not null && NarrowGemv.Suits(l.OutFeatures, l.InFeatures) ? new AlignedFloats(l.OutFeatures * l.InFeatures) : null);
        _short = shortCopies ?? Array.ConvertAll(linears, l => l is not null && NarrowGemv.Suits(l.InFeatures, l.OutFeatures) ? new AlignedFloats(l.OutFeatures * l.InFeatures) : null);
        if (!shared) RefreshPanels();
    }

    /// <summary>
    /// Copies the current values of the large, the narrow and the short weight matrices into their packed forms (see
    /// <see cref="RowGemv.Pack"/>, <see cref="NarrowGemv.Pack"/> and <see cref="NarrowGemv.PackTransposeOf"/>): until
    /// the next call, the kernel computes with the weights as they are now.
    /// </summary>
    public void RefreshPanels()
    {
        for (int l = 0; l < _kinds.Length; l++)
        {
            if (_linears[l] is not { } lin) continue;
            var w = lin.Weight.Value.AsSpan<float>();
            if (_panels[l] is { } panels) RowGemv.Pack(w, lin.OutFeatures, lin.InFeatures, panels.Span);
            if (_narrow[l] is { } narrow) NarrowGemv.Pack(w, lin.OutFeatures, lin.InFeatures, narrow.Span);
            if (_short[l] is { } copy) NarrowGemv.PackTransposeOf(w, lin.OutFeatures, lin.InFeatures, copy.Span);
        }
    }

    public int InDim { get; }
    public int OutDim { get; }
    public int Slots { get; }

    /// <summary>
    /// This kernel when it has room for <paramref name="slots"/> uses, else the same network with that many (a new
    /// kernel: buffers are sized at construction).
    /// </summary>
    public MlpKernel WithAtLeastSlots(int slots) => slots <= Slots ? this : new(_kinds, _linears, _norms, _alpha, _width, InDim, slots, _panels, _narrow, _short);

    /// <summary>
    /// The kernel of <paramref name="net"/> (then tanh of its output when <paramref name="tanhOutput"/>), or null
    /// (with the reason) when a layer, dtype or device is not supported.
    /// </summary>
    public static MlpKernel? TryCreate(Sequential net, int slots, out string? reason, bool tanhOutput = false)
    {
        int n = net.Count + (tanhOutput ? 1 : 0);
        var kinds = new Kind[n];
        var linears = new Linear?[n];
        var norms = new LayerNorm?[n];
        var alpha = new double[n];
        var width = new int[n];
        int inDim = -1, current = -1;
        for (int l = 0; l < n; l++)
        {
            if (l == net.Count)
            {
                // The appended output tanh (only reached with tanhOutput).
                kinds[l] = Kind.Tanh;
                width[l] = current;
                continue;
            }
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
                case LayerNorm ln:
                    if (current < 0) break; // reported below: no Linear before it
                    if (ln.NormalizedShape.Rank != 1 || ln.NormalizedShape[0] != current)
                    {
                        reason = $"layer {l} (LayerNorm{ln.NormalizedShape}) does not normalize the last axis of width {current}";
                        return null;
                    }
                    if ((ln.Weight is { } lw && !IsDenseCpuFloat(lw.Value)) || (ln.Bias is { } lb && !IsDenseCpuFloat(lb.Value)))
                    {
                        reason = $"layer {l} (LayerNorm{ln.NormalizedShape}) is not a dense float32 CPU tensor";
                        return null;
                    }
                    kinds[l] = Kind.LayerNorm;
                    norms[l] = ln;
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
        if (net.Count == 0 || inDim < 0)
        {
            reason = "the network has no Linear layer";
            return null;
        }
        reason = null;
        return new MlpKernel(kinds, linears, norms, alpha, width, inDim, slots);
    }

    /// <summary>
    /// y = x where x &gt; 0, else α(eˣ − 1), with eˣ from the engine's float32 <see cref="FastExp"/> on min(x, 0), as the
    /// engine's fused bias–ELU computes it. (TensorPrimitives.Exp works in float64, and its inner generic was seen to
    /// stay at tier 0 in long runs, ~10 µs per 512 values instead of ~0.2.) The tail runs the same vector code one
    /// value at a time, so every value has the same bits wherever it sits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EluForward(ReadOnlySpan<float> x, Span<float> y, float alpha)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= x.Length; i += 16) Elu16(Vector512.Create(x.Slice(i, 16)), alpha).CopyTo(y.Slice(i, 16));
            for (; i < x.Length; i++) y[i] = Elu16(Vector512.Create(x[i]), alpha).ToScalar();
            return;
        }
        for (; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : alpha * (MathF.Exp(x[i]) - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Elu16(Vector512<float> x, float alpha)
    {
        var negative = Vector512.Create(alpha) * (FastExp.NonPositive(Vector512.Min(x, Vector512<float>.Zero)) - Vector512<float>.One);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, negative);
    }

    /// <summary>As F.Elu's rule: ȳ where x &gt; 0, else ȳ·(y + α), in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>
    /// Row by row as the engine's layer norm: x̂ = (x − mean)·rstd with rstd = 1/√(var + ε) (biased variance),
    /// then y = x̂·w + b. Keeps x̂ and rstd for the backward pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LayerNormForward(ReadOnlySpan<float> x, Span<float> y, Span<float> normalized, Span<float> rstd, LayerNorm ln, int width)
    {
        var w = ln.Weight is { } wv ? wv.Value.AsSpan<float>() : default;
        var b = ln.Bias is { } bv ? bv.Value.AsSpan<float>() : default;
        float n = width, eps = (float)ln.Eps;
        for (int row = 0; row < rstd.Length; row++)
        {
            var xr = x.Slice(row * width, width);
            var xh = normalized.Slice(row * width, width);
            var yr = y.Slice(row * width, width);
            float mean = TensorPrimitives.Sum(xr) / n;
            TensorPrimitives.Subtract(xr, mean, xh);
            float s = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(xh) / n + eps);
            TensorPrimitives.Multiply(xh, s, xh);
            rstd[row] = s;
            if (w.IsEmpty) xh.CopyTo(yr);
            else TensorPrimitives.Multiply(xh, w, yr);
            if (!b.IsEmpty) TensorPrimitives.Add(yr, b, yr);
        }
    }

    /// <summary>As F.LayerNorm's input rule, in place: x̄ = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = ȳ·w.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LayerNormBackward(Span<float> g, ReadOnlySpan<float> normalized, ReadOnlySpan<float> rstd, LayerNorm ln, int width)
    {
        var w = ln.Weight is { } wv ? wv.Value.AsSpan<float>() : default;
        float n = width;
        for (int row = 0; row < rstd.Length; row++)
        {
            var gr = g.Slice(row * width, width);
            var xh = normalized.Slice(row * width, width);
            if (!w.IsEmpty) TensorPrimitives.Multiply(gr, w, gr);
            float meanG = TensorPrimitives.Sum(gr) / n;
            float meanGx = TensorPrimitives.Dot(gr, xh) / n;
            TensorPrimitives.Subtract(gr, meanG, gr);
            TensorPrimitives.MultiplyAdd(xh, -meanGx, gr, gr);
            TensorPrimitives.Multiply(gr, rstd[row], gr);
        }
    }

    private static bool IsDenseCpuFloat(Tensor t) => t.DType == DType.Float32 && t.Device.IsCpu && t.IsContiguous;

    /// <summary>y = net(x), remembering in <paramref name="slot"/> what <see cref="InputVjp"/> needs.</summary>
    public void Forward(int slot, ReadOnlySpan<float> x, Span<float> y) => Forward(slot, 1, x, y);

    /// <summary>x̄ = (∂net/∂x)ᵀ·ȳ at the input last passed to <see cref="Forward(int, ReadOnlySpan{float}, Span{float})"/> in <paramref name="slot"/>.</summary>
    public void InputVjp(int slot, ReadOnlySpan<float> yBar, Span<float> xBar) => InputVjp(slot, 1, yBar, xBar);

    /// <summary>Rows ys [count, OutDim] = net(xs [count, InDim]) into slots first … first + count − 1.</summary>
    public void Forward(int first, int count, ReadOnlySpan<float> xs, Span<float> ys)
    {
        CheckSlots(first, count);
        xs[..(count * InDim)].CopyTo(_in.Span.Slice(first * InDim, count * InDim));
        for (int l = 0; l < _kinds.Length; l++)
        {
            ReadOnlySpan<float> prev = Input(l, first, count);
            var o = Output(l, first, count);
            switch (_kinds[l])
            {
                case Kind.Linear:
                    LinearForward(l, prev, o, count);
                    break;
                case Kind.LayerNorm:
                    LayerNormForward(prev, o, _normalized[l].AsSpan(first * _width[l], count * _width[l]), _rstd[l].AsSpan(first, count), _norms[l]!, _width[l]);
                    break;
                default:
                    // Row by row, so that a row's bits do not depend on how many rows share the call.
                    int w = _width[l];
                    for (int row = 0; row < count; row++) Activate(_kinds[l], _alpha[l], prev.Slice(row * w, w), o.Slice(row * w, w));
                    break;
            }
        }
        Output(_kinds.Length - 1, first, count).CopyTo(ys);
    }

    private void CheckSlots(int first, int count)
    {
        if (first < 0 || count < 1 || first + count > Slots)
            throw new ArgumentOutOfRangeException(nameof(first), $"MlpKernel: slots {first}..{first + count - 1} of {Slots}");
    }

    /// <summary>The outputs of layer l for the slots first … first + count − 1.</summary>
    private Span<float> Output(int l, int first, int count) => _out[l].Span.Slice(first * _width[l], count * _width[l]);

    /// <summary>The inputs of layer l for those slots (the network's inputs for layer 0).</summary>
    private Span<float> Input(int l, int first, int count) => l == 0 ? _in.Span.Slice(first * InDim, count * InDim) : Output(l - 1, first, count);

    /// <summary>Layer l's y = W·x + b (W·x alone without <paramref name="withBias"/>) for count rows, from whichever copy of W the layer reads.</summary>
    private void LinearForward(int l, ReadOnlySpan<float> x, Span<float> y, int count, bool withBias = true)
    {
        var lin = _linears[l]!;
        int rows = lin.OutFeatures, cols = lin.InFeatures;
        var bias = withBias && lin.Bias is { } b ? b.Value.AsSpan<float>() : default;
        if (_narrow[l] is { } narrow) NarrowGemv.Forward(narrow.Span, bias, x, y, rows, cols, count);
        else if (_short[l] is { } copy)
        {
            // W·x = (Wᵀ)ᵀ·x: the transposed product of the copy of Wᵀ.
            NarrowGemv.Transposed(copy.Span, x, y, cols, rows, count);
            if (!bias.IsEmpty)
                for (int row = 0; row < count; row++) TensorPrimitives.Add(y.Slice(row * rows, rows), bias, y.Slice(row * rows, rows));
        }
        else RowGemv.ForwardBatch(lin.Weight.Value.AsSpan<float>(), bias, x, y, rows, cols, count, _panels[l] is { } p ? p.Span : default);
    }

    /// <summary>Layer l's x̄ = Wᵀ·ȳ for count rows (overwritten), from the same copy of W as its forward pass.</summary>
    private void LinearInputGradient(int l, ReadOnlySpan<float> g, Span<float> xBar, int count)
    {
        var lin = _linears[l]!;
        int rows = lin.OutFeatures, cols = lin.InFeatures;
        if (_narrow[l] is { } narrow) NarrowGemv.Transposed(narrow.Span, g, xBar, rows, cols, count);
        else if (_short[l] is { } copy) NarrowGemv.Forward(copy.Span, default, g, xBar, cols, rows, count);
        else RowGemv.TransposedBatch(lin.Weight.Value.AsSpan<float>(), g, xBar, rows, cols, count, _panels[l] is { } p ? p.Span : default);
    }

    private static void Activate(Kind kind, double alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        if (kind == Kind.Elu) EluForward(x, y, (float)alpha);
        else if (kind == Kind.Tanh) TensorPrimitives.Tanh(x, y);
        else TensorPrimitives.Max(x, 0f, y);
    }

    /// <summary>g ← g·∂y/∂x for an activation y(x), in place.</summary>
    private static void ActivationGradient(Kind kind, double alpha, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> g)
    {
        switch (kind)
        {
            case Kind.Elu: EluBackward(x, y, g, (float)alpha); break;
            case Kind.Tanh: for (int i = 0; i < g.Length; i++) g[i] *= 1 - y[i] * y[i]; break;
            default: for (int i = 0; i < g.Length; i++) if (!(x[i] > 0)) g[i] = 0; break;
        }
    }

    /// <summary>Rows xBars [count, InDim] = (∂net/∂x)ᵀ·yBars [count, OutDim] at the inputs of slots first … first + count − 1.</summary>
    public void InputVjp(int first, int count, ReadOnlySpan<float> yBars, Span<float> xBars)
    {
        CheckSlots(first, count);
        var g = _gradA.Span[..(count * OutDim)];
        yBars[..g.Length].CopyTo(g);
        var spare = _gradB;
        for (int l = _kinds.Length - 1; l >= 0; l--)
        {
            var o = Output(l, first, count);
            ReadOnlySpan<float> input = Input(l, first, count);
            switch (_kinds[l])
            {
                case Kind.Linear:
                    var next = spare.Span[..(count * _linears[l]!.InFeatures)];
                    LinearInputGradient(l, g, next, count);
                    // Swap the buffers: the one just written carries the gradient on.
                    spare = ReferenceEquals(spare, _gradA) ? _gradB : _gradA;
                    g = next;
                    break;
                case Kind.LayerNorm:
                    LayerNormBackward(g, _normalized[l].AsSpan(first * _width[l], count * _width[l]), _rstd[l].AsSpan(first, count), _norms[l]!, _width[l]);
                    break;
                default:
                    for (int row = 0, w = _width[l]; row < count; row++)
                        ActivationGradient(_kinds[l], _alpha[l], input.Slice(row * w, w), o.Slice(row * w, w), g.Slice(row * w, w));
                    break;
            }
        }
        g.CopyTo(xBars);
    }
}
