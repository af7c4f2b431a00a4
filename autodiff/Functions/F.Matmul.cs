using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    /// <summary>
    /// op(a)·op(b) with batch broadcasting (op = transpose of the last two axes when the flag is set).
    /// 1-D operands are promoted like numpy.matmul (a vector a is a row, a vector b a column).
    /// Rules: ∂a = g·op(b)ᵀ, ∂b = op(a)ᵀ·g, then transposed back when the operand was stored transposed
    /// and summed over broadcast batch axes.
    /// </summary>
    public static Var Matmul(Var a, Var b, bool transA = false, bool transB = false)
    {
        if (a.Rank == 1 || b.Rank == 1)
        {
            if (a.Rank == 0 || b.Rank == 0) throw new TensorShapeException($"F.Matmul: scalars are not matrices ({a.Shape} · {b.Shape})");
            var a2 = a.Rank == 1 ? Unsqueeze(a, 0) : a;
            var b2 = b.Rank == 1 ? Unsqueeze(b, -1) : b;
            var y2 = Matmul(a2, b2, a.Rank == 1 ? false : transA, b.Rank == 1 ? false : transB);
            if (b.Rank == 1) y2 = Squeeze(y2, -1);
            if (a.Rank == 1) y2 = Squeeze(y2, y2.Rank == 1 ? 0 : -2);
            return y2;
        }
        var y = Record.Op("matmul", Ops.Matmul(a.Value, b.Value, transA, transB), a, b, static (n, g) =>
        {
            bool ta = n.Flag0, tb = n.Flag1;
            if (!ta && !tb && IsRowMatmulBackward(n, g)) return RowMatmulGrads(n, g);
            Var? ga = null, gb = null;
            if (n.Needs(0) && !IntoLeafGrad(n.A, ta ? n.B : g, ta ? g : n.B, ta && tb, ta || !tb))
                ga = SumTo(ta ? Matmul(n.B, g, tb, true) : Matmul(g, n.B, false, !tb), n.A.Shape);
            if (n.Needs(1) && !IntoLeafGrad(n.B, tb ? g : n.A, tb ? n.A : g, tb || !ta, tb && ta))
                gb = SumTo(tb ? Matmul(g, n.A, true, ta) : Matmul(n.A, g, !ta, false), n.B.Shape);
            return (ga, gb);
        });
        if (y.Node is { } node) { node.Flag0 = transA; node.Flag1 = transB; }
        return y;
    }

    /// <summary>Whether a·B's plain (unrecorded) backward takes the batch-1 CPU pass: a one row [1, K], B [K, N].</summary>
    private static bool IsRowMatmulBackward(Node n, Var g) =>
        !Autograd.IsGradEnabled && g.Device.IsCpu && n.A.Rank == 2 && n.A.Shape[0] == 1 && n.B.Rank == 2;

    /// <summary>
    /// ∂a = g·Bᵀ and ∂B = aᵀ·g for a single row a from one pass over B split between the cores (a linear layer's
    /// g·W in a batch-1 double backward); ∂B goes straight into B's Grad when B is a leaf of this pass.
    /// </summary>
    private static Grads RowMatmulGrads(Node n, Var g)
    {
        bool needA = n.Needs(0), needB = n.Needs(1);
        double beta = 0;
        var target = needB ? Backprop.DirectGradTarget(n.B, n.B.Shape, out beta) : null;
        // Into a leaf's Grad, aᵀ·g is staged with the pass's other rank-one terms for B (see DeferredOuterProducts).
        if (target is not null) DeferredOuterProducts.Add(target, beta, n.A.Value, g.Value);
        var gradA = needA ? Tensor.Empty(n.A.Shape, n.A.DType, n.A.Device) : null;
        var gradB = target is null && needB ? Tensor.Empty(n.B.Shape, n.B.DType, n.B.Device) : null;
        if (gradA is not null || gradB is not null) Ops.RowMatmulBackward(n.A.Value, n.B.Value, g.Value, gradA, gradB, accumulate: false);
        return (gradA is null ? null : Constant(gradA), gradB is null ? null : Constant(gradB));
    }

    /// <summary>
    /// In a plain backward pass, leaf.Grad += op(x)·op(y) as one product with beta = 1 (2-D operands only), so
    /// a weight's gradient (e.g. the outer product of a batch-1 double backward) needs no temporary and no
    /// separate add. False when the ordinary path must run (see <see cref="Backprop.DirectGradTarget"/>).
    /// </summary>
    private static bool IntoLeafGrad(Var leaf, Var x, Var y, bool transX, bool transY)
    {
        if (leaf.Rank != 2 || x.Rank != 2 || y.Rank != 2) return false;
        if (Backprop.DirectGradTarget(leaf, leaf.Shape, out double beta) is not { } target) return false;
        Ops.Matmul(x.Value, y.Value, target, transX, transY, beta: beta);
        return true;
    }

    /// <summary>
    /// x·Wᵀ + b for x [..., in], weight [out, in], bias [out] or null (one fused engine call; at batch 1 one
    /// pass over W split between the cores). Rules: ∂x = g·W, ∂W = gᵀ·x over all leading axes, ∂b = Σ g over leading axes.
    /// </summary>
    public static Var Linear(Var x, Var weight, Var? bias = null)
    {
        var value = Ops.LinearActivation(x.Value, weight.Value, bias?.Value, LinearEpilogue.None);
        BackwardRule rule = static (n, g) => LinearGrads(n, g);
        return bias is null ? Record.Op("linear", value, x, weight, rule) : Record.Op("linear", value, x, weight, bias, rule);
    }

    /// <summary>
    /// elu(x·Wᵀ + b) as one op (α &gt; 0): the bias and ELU run in the product's epilogue, and the rule turns g into
    /// the pre-activation gradient with <see cref="EluGrad"/> read off the output alone (z &gt; 0 ⟺ y &gt; 0 when α &gt; 0),
    /// then applies Linear's rule. For α ≤ 0 it is Elu(Linear(...)).
    /// </summary>
    public static Var LinearElu(Var x, Var weight, Var? bias = null, double alpha = 1.0)
    {
        if (!(alpha > 0)) return Elu(Linear(x, weight, bias), alpha);
        var value = Ops.LinearActivation(x.Value, weight.Value, bias?.Value, LinearEpilogue.Elu, alpha);
        BackwardRule rule = static (n, g) =>
        {
            var gz = EluGrad(g, n.Out, n.Out, n.P0);
            var grads = LinearGrads(n, gz);
            if (!Autograd.IsGradEnabled) gz.Value.Dispose(); // an intermediate of this rule: back to the pool now
            return grads;
        };
        var y = bias is null ? Record.Op("linear_elu", value, x, weight, rule) : Record.Op("linear_elu", value, x, weight, bias, rule);
        y.Node?.P0 = alpha;
        return y;
    }

    /// <summary>
    /// Linear's rule for the gradient g of its (pre-activation) output. In a plain backward pass the weight and
    /// bias gradients go straight into the parameters' Grad (one GEMM with beta = 1, or at batch 1 one pass over W
    /// that also yields ∂x); when recording they are differentiable F ops.
    /// </summary>
    private static Grads LinearGrads(Node n, Var g)
    {
        bool needX = n.Needs(0), needW = n.Needs(1);
        var g2 = AsMatrix(g);
        Var? gx = null, gw = null, gb = null;
        double beta = 1;
        var weightTarget = needW ? Backprop.DirectGradTarget(n.B, n.B.Shape, out beta) : null;
        if (g2.Shape[0] == 1 && !Autograd.IsGradEnabled && g.Device.IsCpu && (weightTarget is not null || !needW))
        {
            // Batch 1: ∂x from one pass over W, split between the cores; ∂W = gᵀ·x is staged and added with the
            // pass's other rank-one terms for W in one product at the end (see DeferredOuterProducts).
            if (weightTarget is not null) DeferredOuterProducts.Add(weightTarget, beta, g.Value, n.A.Value);
            if (needX)
            {
                var gradX = Tensor.Empty(n.A.Shape, n.A.DType, n.A.Device);
                Ops.LinearBackwardRow(g.Value, n.A.Value, n.B.Value, gradX, null, accumulate: false);
                gx = Constant(gradX);
            }
        }
        else
        {
            if (needX) gx = Matmul(g, n.B);
            if (weightTarget is not null) AddWeightGradient(g2.Value, AsMatrix(n.A).Value, weightTarget, beta);
            else if (needW) gw = Matmul(g2, AsMatrix(n.A), transA: true);
        }
        if (n.Arity == 3 && n.Needs(2))
        {
            // Batch 1: the bias gradient is g itself, added (or copied over a deferred zero) straight into the Grad.
            if (g2.Shape[0] == 1 && g2.Value.IsContiguous && Backprop.DirectGradTarget(n.C, n.C.Shape, out double biasBeta) is { } biasTarget)
            {
                using var row = g2.Value.Reshape(n.C.Shape[0]);
                if (biasBeta == 0) biasTarget.CopyFrom(row);
                else Ops.AddInPlace(biasTarget, row);
            }
            else gb = Sum(g2, 0);
        }
        return (gx, gw, gb);
    }

    /// <summary>v as a matrix [rows, last axis] (v itself when it already is one).</summary>
    private static Var AsMatrix(Var v) => v.Rank == 2 ? v : Reshape(v, -1, v.Shape[v.Rank - 1]);

    /// <summary>
    /// target = gᵀ·x + beta·target for g [rows, out], x [rows, in]. A single row (batch 1) is an outer
    /// product: one SIMD pass per output row beats the general GEMM, which is tuned for real inner sizes.
    /// </summary>
    private static void AddWeightGradient(Tensor g, Tensor x, Tensor target, double beta)
    {
        if (g.Shape[0] == 1 && g.Device.IsCpu && g.IsContiguous && x.IsContiguous && g.DType == x.DType && g.DType == target.DType)
        {
            if (g.DType == DType.Float32) { AddOuter(g.AsSpan<float>(), x.AsSpan<float>(), target.AsSpan<float>(), beta != 0); return; }
            if (g.DType == DType.Float64) { AddOuter(g.AsSpan<double>(), x.AsSpan<double>(), target.AsSpan<double>(), beta != 0); return; }
        }
        Ops.Matmul(g, x, target, transA: true, beta: beta);
    }

    private static void AddOuter<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> target, bool accumulate)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int n = x.Length;
        for (int i = 0; i < g.Length; i++)
        {
            var row = target.Slice(i * n, n);
            if (accumulate) System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x, g[i], row, row);
            else System.Numerics.Tensors.TensorPrimitives.Multiply(x, g[i], row);
        }
    }

    /// <summary>Linear as a composite (Matmul then Add), for comparison with the fused form.</summary>
    public static Var LinearComposite(Var x, Var weight, Var? bias = null)
    {
        var y = Matmul(x, weight, transB: true);
        return bias is null ? y : y + bias;
    }
}
