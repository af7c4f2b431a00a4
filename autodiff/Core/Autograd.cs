using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// Functional differentiation: gradients of outputs with respect to chosen Vars, vector–Jacobian and
/// Jacobian–vector products, full Jacobians and Hessian–vector products.
/// </summary>
public static partial class Autograd
{
    /// <summary>
    /// d(Σ gradOutputs·outputs)/d(inputs), without touching any Var's Grad. gradOutputs default to ones.
    /// createGraph records the computation so the results can be differentiated again (it implies
    /// retainGraph). With allowUnused an input the outputs do not depend on gets zeros; otherwise that throws.
    /// inputsIndependent: the caller promises no input is computed from another, so the search for paths stops
    /// at the inputs instead of walking everything recorded behind them (a solver that differentiates at every
    /// recorded iteration would otherwise walk all earlier iterations each time). Wrong when one input depends
    /// on another: that input's share through the other would be missing.
    /// </summary>
    public static Var[] Grad(IReadOnlyList<Var> outputs, IReadOnlyList<Var> inputs, IReadOnlyList<Var>? gradOutputs = null,
        bool createGraph = false, bool retainGraph = false, bool allowUnused = false, bool inputsIndependent = false)
    {
        if (gradOutputs is not null && gradOutputs.Count != outputs.Count)
            throw new ArgumentException($"Autograd.Grad: {outputs.Count} outputs but {gradOutputs.Count} gradOutputs");
        for (int i = 0; i < inputs.Count; i++)
            if (!inputs[i].RequiresGrad && !allowUnused)
                throw new ArgumentException($"Autograd.Grad: input {i} ('{inputs[i].Name}', {inputs[i].Shape}) does not require a gradient");
        bool any = false;
        for (int i = 0; i < outputs.Count; i++) any |= outputs[i].RequiresGrad;
        if (!any && !allowUnused)
            throw new ArgumentException("Autograd.Grad: no output requires a gradient (computed in a no-grad scope, or from constants only?)");

        var seeds = gradOutputs ?? Array.Empty<Var>();
        var found = any ? Backprop.Run(outputs, seeds, inputs, retainGraph || createGraph, createGraph, stopAtCaptures: inputsIndependent)! : new Var?[inputs.Count];
        var result = new Var[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            if (found[i] is { } g) { result[i] = g; continue; }
            if (!allowUnused)
                throw new InvalidOperationException(
                    $"Autograd.Grad: input {i} ('{inputs[i].Name}', {inputs[i].Shape}) is not used by the outputs; pass allowUnused: true to get zeros");
            result[i] = new Var(Tensor.ZerosLike(inputs[i].Value), null);
        }
        return result;
    }

    /// <summary>Gradient of one scalar (or seeded) output with respect to some inputs.</summary>
    public static Var[] Grad(Var output, IReadOnlyList<Var> inputs, Var? gradOutput = null, bool createGraph = false, bool retainGraph = false, bool allowUnused = false) =>
        Grad([output], inputs, gradOutput is null ? null : [gradOutput], createGraph, retainGraph, allowUnused);

    /// <summary>
    /// f(inputs) and the vector–Jacobian product cotangentᵀ·∂f/∂inputs. Inputs that do not require a
    /// gradient are differentiated through fresh leaves sharing their values.
    /// </summary>
    public static (Var Output, Var[] Vjp) Vjp(Func<Var[], Var> f, IReadOnlyList<Var> inputs, Var cotangent, bool createGraph = false)
    {
        var xs = Differentiable(inputs);
        using (EnableGrad())
        {
            var y = f(xs);
            var grads = Grad([y], xs, [cotangent], createGraph: createGraph, allowUnused: true);
            return (y, grads);
        }
    }

    /// <summary>
    /// f(inputs) and the Jacobian–vector product ∂f/∂inputs·tangents, by the double-VJP trick: the VJP
    /// u ↦ uᵀJ is linear in u, so differentiating it with respect to u along the tangents gives J·t.
    /// </summary>
    public static (Var Output, Var Jvp) Jvp(Func<Var[], Var> f, IReadOnlyList<Var> inputs, IReadOnlyList<Var> tangents, bool createGraph = false)
    {
        if (tangents.Count != inputs.Count)
            throw new ArgumentException($"Autograd.Jvp: {inputs.Count} inputs but {tangents.Count} tangents");
        var xs = Differentiable(inputs);
        using (EnableGrad())
        {
            var y = f(xs);
            var u = new Var(Tensor.ZerosLike(y.Value), requiresGrad: true, name: "jvp.u");
            var vjps = Grad([y], xs, [u], createGraph: true, allowUnused: true);
            var used = new List<Var>(vjps.Length);
            var usedTangents = new List<Var>(vjps.Length);
            for (int i = 0; i < vjps.Length; i++)
            {
                if (!vjps[i].RequiresGrad) continue; // this input does not affect y
                used.Add(vjps[i]);
                usedTangents.Add(tangents[i]);
            }
            if (used.Count == 0) return (y, new Var(Tensor.ZerosLike(y.Value), null));
            var jvp = Grad(used, [u], usedTangents, createGraph: createGraph, allowUnused: true)[0];
            return (y, jvp);
        }
    }

    /// <summary>
    /// The Jacobian of f at x, shape f(x).Shape ++ x.Shape, in ONE reverse pass: x is replicated along
    /// a new leading axis (one copy per output element), f runs once on the batch and the pass is seeded
    /// with one one-hot cotangent per batch row. This requires f to treat the leading axis as a batch
    /// (rows must not interact; true of per-sample networks, dynamics and costs). For any other f pass
    /// batched: false, which runs one reverse pass per output element.
    /// </summary>
    public static Var Jacobian(Func<Var, Var> f, Var x, bool batched = true, bool createGraph = false)
    {
        Var y0;
        using (NoGrad()) y0 = f(x.Detach());
        int m = y0.Length;
        var jacShape = Concat(y0.Shape, x.Shape);
        if (!batched) return JacobianByRows(f, x, y0, jacShape, createGraph);

        using (EnableGrad())
        {
            var xb = Replicate(x, m, createGraph);
            var yb = f(xb);
            var expected = Prepend(m, y0.Shape);
            if (yb.Shape != expected)
                throw new TensorShapeException(
                    $"Autograd.Jacobian: f maps a batch {xb.Shape} to {yb.Shape}, expected {expected}; f must treat the leading axis as a batch (or pass batched: false)");
            var seed = new Var(OneHotRows(m, y0.DType, y0.Device).Reshape(expected), null);
            var g = Grad([yb], [xb], [seed], createGraph: createGraph)[0];
            return F.Reshape(g, jacShape);
        }
    }

    private static Var JacobianByRows(Func<Var, Var> f, Var x, Var y0, in Shape jacShape, bool createGraph)
    {
        using (EnableGrad())
        {
            var xs = x.RequiresGrad ? x : new Var(x.Value, requiresGrad: true);
            var y = f(xs);
            int m = y.Length;
            var rows = new Var[m];
            using var eye = OneHotRows(m, y0.DType, y0.Device);
            for (int i = 0; i < m; i++)
            {
                var seed = new Var(eye.Select(0, i).Reshape(y.Shape), null);
                rows[i] = Grad([y], [xs], [seed], createGraph: createGraph, retainGraph: true, allowUnused: true)[0];
            }
            return F.Reshape(F.Stack(rows, 0), jacShape);
        }
    }

    /// <summary>f(x) and the Hessian–vector product ∇²f(x)·v of a scalar f, by differentiating ∇f·v.</summary>
    public static (Var Value, Var Hvp) Hvp(Func<Var, Var> f, Var x, Var v, bool createGraph = false)
    {
        if (v.Shape != x.Shape)
            throw new TensorShapeException($"Autograd.Hvp: v has shape {v.Shape}, x {x.Shape}");
        using (EnableGrad())
        {
            var xs = x.RequiresGrad ? x : new Var(x.Value, requiresGrad: true);
            var y = f(xs);
            if (y.Length != 1)
                throw new TensorShapeException($"Autograd.Hvp: f must return a scalar, got shape {y.Shape}");
            var g = Grad([y], [xs], createGraph: true)[0];
            if (!g.RequiresGrad) return (y, new Var(Tensor.ZerosLike(x.Value), null)); // f is affine in x
            var hv = Grad([g], [xs], [v], createGraph: createGraph, allowUnused: true)[0];
            return (y, hv);
        }
    }

    private static Var[] Differentiable(IReadOnlyList<Var> inputs)
    {
        var xs = new Var[inputs.Count];
        for (int i = 0; i < xs.Length; i++)
            xs[i] = inputs[i].RequiresGrad ? inputs[i] : new Var(inputs[i].Value, requiresGrad: true, name: inputs[i].Name);
        return xs;
    }

    /// <summary>x repeated m times along a new leading axis, as a leaf (or, with createGraph, differentiably).</summary>
    private static Var Replicate(Var x, int m, bool createGraph)
    {
        var target = Prepend(m, x.Shape);
        if (createGraph && x.RequiresGrad) return F.Expand(F.Reshape(x, Prepend(1, x.Shape)), target);
        using var view = x.Value.Reshape(Prepend(1, x.Shape)).Expand(target);
        return new Var(view.Contiguous(), requiresGrad: true);
    }

    /// <summary>An m×m identity: row i is the one-hot cotangent that picks output element i.</summary>
    private static Tensor OneHotRows(int m, DType dtype, Device device) => Tensor.Eye(m, dtype, device);

    private static Shape Prepend(int n, in Shape s) => s.Insert(0, n);

    private static Shape Concat(in Shape a, in Shape b)
    {
        Span<int> d = stackalloc int[a.Rank + b.Rank];
        a.CopyTo(d);
        b.CopyTo(d[a.Rank..]);
        return new Shape(d);
    }
}
