using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using DiffTori.Autodiff.Nn;

namespace DiffTori.TrajOpt;

// Forward-over-reverse without a graph: what the solver's recorded iterations need to differentiate
// φ = r̄·r(u) + ḡ·∇ᵤr(u) in u, in the start latent and in every parameter. The forward pass (Forward, which
// keeps the activations in their slots) is followed by a tangent pass along an input direction ẋ, then by one
// reverse pass that carries two adjoints per row: a = ∂out/∂(layer) seeded by the caller and its tangent ȧ
// (the directional derivative of a along ẋ). Both run through the transposed products together, as 2·count rows.
internal sealed partial class MlpKernel
{
    private AlignedFloats? _tangentIn;             // ẋ of the network's inputs, slot s at s·InDim
    private AlignedFloats[] _tangent = [];         // [layer] tangents of the outputs, slot s at s·width
    private float[][] _normalizedTangent = [];     // [layer] x̂̇ of a LayerNorm
    private float[][] _rstdRatio = [];             // [layer] ṡ/s of a LayerNorm's s = 1/√(var + ε), one per slot
    private AlignedFloats? _adjoint, _adjointSpare; // [2·slots, widest]: the rows a, then the rows ȧ

    /// <summary>A collector of this network's parameter gradients for <see cref="SecondOrderVjp"/>.</summary>
    public MlpGradients NewGradients() => new(_linears, _norms);

    private void EnsureSecondOrderBuffers()
    {
        if (_tangentIn is not null) return;
        int widest = Math.Max(InDim, _width.Max());
        _tangentIn = new AlignedFloats(Slots * InDim);
        _tangent = new AlignedFloats[_kinds.Length];
        _normalizedTangent = new float[_kinds.Length][];
        _rstdRatio = new float[_kinds.Length][];
        for (int l = 0; l < _kinds.Length; l++)
        {
            _tangent[l] = new AlignedFloats(Slots * _width[l]);
            bool norm = _kinds[l] == Kind.LayerNorm;
            _normalizedTangent[l] = norm ? new float[Slots * _width[l]] : [];
            _rstdRatio[l] = norm ? new float[Slots] : [];
        }
        _adjoint = new AlignedFloats(2 * Slots * widest);
        _adjointSpare = new AlignedFloats(2 * Slots * widest);
    }

    private Span<float> TangentOutput(int l, int first, int count) => _tangent[l].Span.Slice(first * _width[l], count * _width[l]);

    private Span<float> TangentInput(int l, int first, int count) =>
        l == 0 ? _tangentIn!.Span.Slice(first * InDim, count * InDim) : TangentOutput(l - 1, first, count);

    /// <summary>
    /// ẏ = (∂net/∂x)·ẋ for the rows ẋ [count, InDim] at the inputs last passed to <see cref="Forward(int, int, ReadOnlySpan{float}, Span{float})"/>
    /// in those slots, keeping every layer's tangent for <see cref="SecondOrderVjp"/>; writes ẏ [count, OutDim] unless it is empty.
    /// </summary>
    public void TangentForward(int first, int count, ReadOnlySpan<float> xDot, Span<float> yDot)
    {
        CheckSlots(first, count);
        EnsureSecondOrderBuffers();
        xDot[..(count * InDim)].CopyTo(TangentInput(0, first, count));
        for (int l = 0; l < _kinds.Length; l++)
        {
            ReadOnlySpan<float> prev = TangentInput(l, first, count);
            var o = TangentOutput(l, first, count);
            int w = _width[l];
            switch (_kinds[l])
            {
                case Kind.Linear:
                    LinearForward(l, prev, o, count, withBias: false);
                    break;
                case Kind.LayerNorm:
                    LayerNormTangent(l, first, count, prev, o);
                    break;
                default:
                    prev.CopyTo(o);
                    ReadOnlySpan<float> x = Input(l, first, count), y = Output(l, first, count);
                    for (int row = 0; row < count; row++)
                        ActivationGradient(_kinds[l], _alpha[l], x.Slice(row * w, w), y.Slice(row * w, w), o.Slice(row * w, w));
                    break;
            }
        }
        if (!yDot.IsEmpty) TangentOutput(_kinds.Length - 1, first, count).CopyTo(yDot);
    }

    /// <summary>
    /// The tangent of y = x̂⊙w + b along ẋ, row by row: with ẋc = ẋ − mean(ẋ), ṡ/s = −s·mean(x̂⊙ẋc) and
    /// x̂̇ = s·(ẋc − x̂·mean(x̂⊙ẋc)); ẏ = x̂̇⊙w. Keeps x̂̇ and ṡ/s.
    /// </summary>
    private void LayerNormTangent(int l, int first, int count, ReadOnlySpan<float> xDot, Span<float> yDot)
    {
        int width = _width[l];
        var w = NormScale(l);
        for (int row = 0; row < count; row++)
        {
            float s = NormRow(l, first + row, out var xh, out var xhDot);
            TensorPrimitives.Subtract(xDot.Slice(row * width, width), TensorPrimitives.Sum(xDot.Slice(row * width, width)) / width, xhDot);
            float m = TensorPrimitives.Dot(xh, xhDot) / width;
            _rstdRatio[l][first + row] = -s * m;
            TensorPrimitives.MultiplyAdd(xh, -m, xhDot, xhDot);
            TensorPrimitives.Multiply(xhDot, s, xhDot);
            var yr = yDot.Slice(row * width, width);
            if (w.IsEmpty) xhDot.CopyTo(yr);
            else TensorPrimitives.Multiply(xhDot, w, yr);
        }
    }

    /// <summary>LayerNorm layer l's scale w (empty without one).</summary>
    private ReadOnlySpan<float> NormScale(int l) => _norms[l]!.Weight is { } w ? w.Value.AsSpan<float>() : default;

    /// <summary>LayerNorm layer l's x̂ and x̂̇ in a slot; returns its s = 1/√(var + ε).</summary>
    private float NormRow(int l, int slot, out Span<float> normalized, out Span<float> normalizedTangent)
    {
        int width = _width[l];
        normalized = _normalized[l].AsSpan(slot * width, width);
        normalizedTangent = _normalizedTangent[l].AsSpan(slot * width, width);
        return _rstd[l][slot];
    }

    /// <summary>
    /// The reverse pass with tangents over the slots first … first + count − 1 (after <see cref="Forward(int, int, ReadOnlySpan{float}, Span{float})"/>
    /// and <see cref="TangentForward"/> there): from output adjoints a [count, OutDim] and their tangents ȧ, the
    /// input adjoints a·∂net/∂x and their tangents into <paramref name="aIn"/> and <paramref name="aDotIn"/> [count, InDim],
    /// while <paramref name="grads"/> collects Σ_rows r̄·(a·∂net/∂θ) + (its tangent): the parameter gradient of
    /// r̄·out + (the tangent of out's adjoint), as the solver's backward pass needs it.
    /// </summary>
    public void SecondOrderVjp(int first, int count, ReadOnlySpan<float> aOut, ReadOnlySpan<float> aDotOut, ReadOnlySpan<float> rBar,
        Span<float> aIn, Span<float> aDotIn, MlpGradients grads)
    {
        CheckSlots(first, count);
        if (_tangentIn is null) throw new InvalidOperationException("MlpKernel.SecondOrderVjp: no tangent pass has run (call TangentForward first)");
        var current = _adjoint!;
        var spare = _adjointSpare!;
        int width = OutDim;
        aOut[..(count * width)].CopyTo(current.Span);
        aDotOut[..(count * width)].CopyTo(current.Span.Slice(count * width));
        for (int l = _kinds.Length - 1; l >= 0; l--)
        {
            width = _width[l];
            var a = current.Span[..(count * width)];
            var aDot = current.Span.Slice(count * width, count * width);
            ReadOnlySpan<float> x = Input(l, first, count), xDot = TangentInput(l, first, count);
            switch (_kinds[l])
            {
                case Kind.Linear:
                    grads.StageLinear(l, a, aDot, rBar, x, xDot, count);
                    int cols = _linears[l]!.InFeatures;
                    LinearInputGradient(l, current.Span[..(2 * count * width)], spare.Span[..(2 * count * cols)], 2 * count);
                    (current, spare) = (spare, current);
                    break;
                case Kind.LayerNorm:
                    grads.StageNorm(l, a, aDot, rBar, _normalized[l].AsSpan(first * width, count * width), _normalizedTangent[l].AsSpan(first * width, count * width), count, width);
                    LayerNormSecondOrder(l, first, count, a, aDot);
                    break;
                default:
                    ActivationSecondOrder(_kinds[l], (float)_alpha[l], x, Output(l, first, count), xDot, a, aDot);
                    break;
            }
        }
        int inDim = InDim;
        current.Span[..(count * inDim)].CopyTo(aIn);
        current.Span.Slice(count * inDim, count * inDim).CopyTo(aDotIn);
    }

    /// <summary>
    /// Through y = σ(x), in place: ȧ ← σ'(x)·ȧ + σ''(x)·ẋ·a, then a ← σ'(x)·a. ELU: σ' = σ'' = y + α where x ≤ 0 (1 and
    /// 0 above, as F.Elu's rule); tanh: σ' = 1 − y², σ'' = −2y·σ'; ReLU: 1 and 0 where x &gt; 0, else 0.
    /// </summary>
    private static void ActivationSecondOrder(Kind kind, float alpha, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> xDot,
        Span<float> a, Span<float> aDot)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= a.Length; i += 16)
            {
                var (first, second, keep) = Derivatives(kind, alpha, Vector512.Create(x.Slice(i, 16)), Vector512.Create(y.Slice(i, 16)));
                var av = Vector512.Create((ReadOnlySpan<float>)a.Slice(i, 16));
                var adv = Vector512.Create((ReadOnlySpan<float>)aDot.Slice(i, 16));
                var newDot = first * adv + second * Vector512.Create(xDot.Slice(i, 16)) * av;
                Vector512.ConditionalSelect(keep, adv, newDot).CopyTo(aDot.Slice(i, 16));
                Vector512.ConditionalSelect(keep, av, first * av).CopyTo(a.Slice(i, 16));
            }
        for (; i < a.Length; i++)
        {
            float first, second;
            switch (kind)
            {
                case Kind.Elu:
                    if (x[i] > 0) continue;
                    first = second = y[i] + alpha;
                    break;
                case Kind.Tanh:
                    first = 1 - y[i] * y[i];
                    second = -2f * y[i] * first;
                    break;
                default:
                    if (x[i] > 0) continue;
                    first = second = 0;
                    break;
            }
            aDot[i] = first * aDot[i] + second * xDot[i] * a[i];
            a[i] *= first;
        }
    }

    /// <summary>σ'(x) and σ''(x) from x and y = σ(x), sixteen at a time, and where they are 1 and 0 (a and ȧ pass unchanged).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> First, Vector512<float> Second, Vector512<float> Keep) Derivatives(Kind kind, float alpha, Vector512<float> x, Vector512<float> y)
    {
        switch (kind)
        {
            case Kind.Elu:
                var d = y + Vector512.Create(alpha);
                return (d, d, Vector512.GreaterThan(x, Vector512<float>.Zero));
            case Kind.Tanh:
                var first = Vector512<float>.One - y * y;
                return (first, Vector512.Create(-2f) * y * first, Vector512<float>.Zero);
            default:
                return (Vector512<float>.Zero, Vector512<float>.Zero, Vector512.GreaterThan(x, Vector512<float>.Zero));
        }
    }

    /// <summary>
    /// Through y = x̂⊙w + b, row by row and in place: with ĝ = a⊙w, a ← s·(ĝ − mean ĝ − x̂·mean(ĝ⊙x̂)) (the input
    /// rule) and ȧ ← (ṡ/s)·a + s·(ĝ̇ − mean ĝ̇ − x̂̇·mean(ĝ⊙x̂) − x̂·(mean(ĝ̇⊙x̂) + mean(ĝ⊙x̂̇))), its tangent.
    /// </summary>
    private void LayerNormSecondOrder(int l, int first, int count, Span<float> a, Span<float> aDot)
    {
        int width = _width[l];
        var w = NormScale(l);
        for (int row = 0; row < count; row++)
        {
            float s = NormRow(l, first + row, out var xh, out var xhDot);
            float ratio = _rstdRatio[l][first + row];
            var g = a.Slice(row * width, width);
            var gDot = aDot.Slice(row * width, width);
            if (!w.IsEmpty)
            {
                TensorPrimitives.Multiply(g, w, g);
                TensorPrimitives.Multiply(gDot, w, gDot);
            }
            float meanG = TensorPrimitives.Sum(g) / width, meanGx = TensorPrimitives.Dot(g, xh) / width;
            float meanGDot = TensorPrimitives.Sum(gDot) / width;
            float cross = (TensorPrimitives.Dot(gDot, xh) + TensorPrimitives.Dot(g, xhDot)) / width;
            for (int i = 0; i < width; i++)
            {
                float aNew = s * (g[i] - meanG - xh[i] * meanGx);
                gDot[i] = ratio * aNew + s * (gDot[i] - meanGDot - xhDot[i] * meanGx - xh[i] * cross);
                g[i] = aNew;
            }
        }
    }
}
