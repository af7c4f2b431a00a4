using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// Rank-one weight gradients (gᵀ·x of a batch-1 linear layer, aᵀ·gy of a·W) that a plain backward pass collects
/// per Grad tensor and adds in one product at the end of the pass: Grad += Σₖ uₖᵀ·vₖ = Uᵀ·V. A weight met many
/// times in one pass (an unrolled solver's recorded iterations, a horizon's time steps) then has its Grad read
/// and written once instead of once per use, which at batch 1 is most of the memory traffic of the pass.
/// The staged rows live in pooled tensors; one store per thread, flushed or discarded by <see cref="Backprop"/>.
/// </summary>
internal static class DeferredOuterProducts
{
    private sealed class Staged
    {
        public Tensor Target = null!;
        public Tensor Left = null!, Right = null!; // [capacity, rows of target], [capacity, columns of target]
        public int Count;
    }

    [ThreadStatic] private static List<Staged>? _staged;
    [ThreadStatic] private static Dictionary<Tensor, Staged>? _byTarget;

    /// <summary>Whether anything waits to be added.</summary>
    public static bool Any => _staged is { Count: > 0 };

    /// <summary>
    /// Stage target += uᵀ·v for u [out] (or [1, out]) and v [in] (or [1, in]) on the target [out, in]; beta 0
    /// (a Grad with a pending zero) zeroes the target now, so that other additions into it this pass stay right.
    /// </summary>
    public static void Add(Tensor target, double beta, Tensor u, Tensor v)
    {
        int rows = target.Shape[0], cols = target.Shape[1];
        if (u.Length != rows || v.Length != cols)
            throw new TensorShapeException($"DeferredOuterProducts: u {u.Shape} and v {v.Shape} do not make a {target.Shape} outer product");
        var byTarget = _byTarget ??= new Dictionary<Tensor, Staged>(ReferenceEqualityComparer.Instance);
        if (!byTarget.TryGetValue(target, out var s))
        {
            if (beta == 0) target.Device.Backend.Fill(target, 0);
            s = new Staged { Target = target, Left = Tensor.Empty(new Shape(4, rows), target.DType, target.Device), Right = Tensor.Empty(new Shape(4, cols), target.DType, target.Device) };
            byTarget.Add(target, s);
            (_staged ??= []).Add(s);
        }
        if (s.Count == s.Left.Shape[0]) Grow(s);
        CopyRow(u, s.Left, s.Count);
        CopyRow(v, s.Right, s.Count);
        s.Count++;
    }

    /// <summary>staging[row, :] = src (flat spans on the CPU: no view objects per term).</summary>
    private static void CopyRow(Tensor src, Tensor staging, int row)
    {
        int n = staging.Shape[1];
        if (src.IsContiguous && src.Device.IsCpu && src.DType == staging.DType && staging.DType == DType.Float32)
            src.AsSpan<float>().CopyTo(staging.AsSpan<float>().Slice(row * n, n));
        else if (src.IsContiguous && src.Device.IsCpu && src.DType == staging.DType && staging.DType == DType.Float64)
            src.AsSpan<double>().CopyTo(staging.AsSpan<double>().Slice(row * n, n));
        else
        {
            using var target = staging.Narrow(0, row, 1);
            using var source = src.Reshape(1, n);
            target.CopyFrom(source);
        }
    }

    private static void Grow(Staged s)
    {
        int capacity = 2 * s.Count;
        s.Left = Regrow(s.Left, capacity, s.Count);
        s.Right = Regrow(s.Right, capacity, s.Count);
    }

    private static Tensor Regrow(Tensor old, int capacity, int used)
    {
        var bigger = Tensor.Empty(new Shape(capacity, old.Shape[1]), old.DType, old.Device);
        using (var head = bigger.Narrow(0, 0, used)) head.CopyFrom(old);
        old.Dispose();
        return bigger;
    }

    /// <summary>Add every staged sum into its target (one product per target) and return the staging to the pool.</summary>
    public static void Flush()
    {
        if (_staged is not { } staged) return;
        try
        {
            foreach (var s in staged)
            {
                using var u = s.Left.Narrow(0, 0, s.Count);
                using var v = s.Right.Narrow(0, 0, s.Count);
                // One term: the batch-1 outer-product pass; more: Uᵀ·V, a GEMM whose inner size is the number of terms.
                if (s.Count == 1) Ops.LinearBackwardRow(u, v, s.Target, null, s.Target, accumulate: true);
                else Ops.Matmul(u, v, s.Target, transA: true, beta: 1);
            }
        }
        finally { Discard(); }
    }

    /// <summary>Drop whatever is staged (a pass that failed) and return the staging to the pool.</summary>
    public static void Discard()
    {
        if (_staged is not { } staged) return;
        foreach (var s in staged)
        {
            s.Left.Dispose();
            s.Right.Dispose();
        }
        staged.Clear();
        _byTarget!.Clear();
    }
}
