using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DiffTori.TrajOpt;

/// <summary>
/// What follows a hidden layer h = W·x + b when every output's gradient depends on that output alone: elementwise
/// activations, then a last Linear whose gradient ā = W_lastᵀ·ȳ is known before the pass (the cotangent ȳ of a
/// reward or a value is a constant). The fused product calls it on rows of h as soon as they are computed.
/// </summary>
internal interface IRowLocalTail
{
    /// <summary>
    /// Rows [r0, r1) of h (for every input of the call) are W·x, without b: add b, run the activations on them, and
    /// write ∂out/∂h for those rows into the delta buffer the product was given. Called from both cores at once, on
    /// disjoint rows.
    /// </summary>
    void FinishRows(int r0, int r1);
}

internal static unsafe partial class RowGemv
{
    /// <summary>
    /// The forward product H[j] = W·X[j] and the input gradients X̄[j] = Wᵀ·Δ[j] of the same layer in one pass over W,
    /// for k inputs, where Δ[j] (the gradient of H[j]) is made row by row by <paramref name="tail"/> from what the
    /// pass has just computed. Each block of sixteen rows of W is read from memory once: its outputs are formed, the
    /// tail turns them into gradients, and the block, still in L1, is added into X̄. Without the fusion the two
    /// products each read W from L3 (the reward and the value networks do not stay in L2 between iterations).
    /// Every output and every gradient takes the operations, in the order, that <see cref="ForwardBatch"/> and
    /// <see cref="TransposedBatch"/> give it (the same halves, rows in the same order within each), so the results
    /// have the same bits as the two products run one after the other. Needs W packed (<see cref="PacksWell"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardAndTransposedBatch(ReadOnlySpan<float> panels, ReadOnlySpan<float> x, Span<float> hidden, Span<float> delta,
        IRowLocalTail tail, Span<float> xBar, int rows, int cols, int k)
    {
        if (!PacksWell(rows, cols) || panels.Length < rows * cols || x.Length < k * cols || hidden.Length < k * rows || delta.Length < k * rows || xBar.Length < k * cols)
            throw new ArgumentException($"RowGemv.ForwardAndTransposedBatch: {k} inputs of a packed {rows}×{cols} weight do not fit the given spans");
        var job = _job ??= new GemvJob();
        var half = job.Partial(k * cols);
        fixed (float* pw = panels, px = x, ph = hidden, pd = delta, pxb = xBar, pp = half)
            job.RunFused(new Weights(pw, cols, panels: true), px, ph, pd, tail, pxb, pp, rows, k);
        TensorPrimitives.Add(xBar[..(k * cols)], half, xBar[..(k * cols)]);
    }

    /// <summary>
    /// Rows [r0, r1) of the fused product, sixteen at a time (32 KB of W, which stays in L1 from its forward to its
    /// transposed use). X̄ holds this half's partial sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FusedRows(Weights w, float* px, float* ph, float* pd, IRowLocalTail tail, float* pxBar, int r0, int r1, int rows, int k)
    {
        int cols = w.Cols;
        new Span<float>(pxBar, k * cols).Clear();
        for (int r = r0; r < r1; r += 16)
        {
            int end = Math.Min(r1, r + 16);
            if (k == 1) ForwardRows(w, px, ph, r, end);
            else ForwardRowsBatch(w, px, ph, r, end, rows, k);
            tail.FinishRows(r, end);
            // Each gradient meets the blocks of eight rows in the order TransposedRows gives them.
            for (int j0 = 0; j0 < k; j0 += InputBlock)
                for (int b = r; b < end; b += 8)
                    AddEightRows(w.Row(b), w.RowStride, w.ChunkStride, cols, pd + (long)j0 * rows + b, rows, pxBar + (long)j0 * cols, Math.Min(k, j0 + InputBlock) - j0);
        }
    }
}
