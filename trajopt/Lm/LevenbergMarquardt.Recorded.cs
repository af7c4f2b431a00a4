using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

// Recorded iterations without a graph, for kernels that differentiate themselves (ISecondOrderScalarKernel).
public static partial class LevenbergMarquardt
{
    /// <summary>
    /// <paramref name="count"/> recorded iterations on the kernel: the same steps as <see cref="UnrecordedIterations"/>,
    /// keeping per iteration u, r, g, λ + ‖g‖², which coordinates the box held and whether the step was kept, and one
    /// op whose inputs are u and the kernel's inputs. Its backward pass walks the iterations last to first: through the
    /// box (no gradient at a held coordinate) and u + s·δ with δ = −r·g/(λ + ‖g‖²), λ a constant, it gets r̄ and ḡ, and the
    /// kernel turns them into ū and the inputs' gradients (<see cref="ISecondOrderScalarKernel.AccumulateBackward"/>).
    /// </summary>
    private static Var RecordedKernelIterations(ISecondOrderScalarKernel kernel, Var u, int count, double[] lambda, LmOptions o, Stats st)
    {
        var trace = new IterationTrace[count];
        kernel.BeginRecording(count);
        var uv = KernelIterations(kernel, u, count, lambda, o, st, trace);
        var value = Tensor.FromArray<float>(uv, u.Shape, u.Value.Device);
        var inputs = new List<Var> { u };
        inputs.AddRange(kernel.Inputs);
        var checkpoint = kernel.Checkpoint();
        double stepSize = o.StepSize;
        return Autograd.RecordOp("lm.kernel-iterations", value, inputs, (node, grad) =>
        {
            if (Autograd.IsGradEnabled)
                throw new NotSupportedException("LevenbergMarquardt: the recorded iterations ran on the residual's kernel, whose gradients are first order; for higher-order gradients through the solve, set LmOptions.RecordOnKernel = false");
            return Grads.Of(Backward(kernel, checkpoint, trace, grad.Value, node, stepSize));
        });
    }

    /// <summary>What one recorded kernel iteration keeps for its backward pass.</summary>
    private sealed class IterationTrace(int B, int D)
    {
        public readonly float[] U = new float[B * D], R = new float[B], G = new float[B * D];
        public readonly double[] Denominator = new double[B];
        public readonly bool[] Inside = new bool[B * D], Rejected = new bool[B];
    }

    /// <summary>
    /// ū and the inputs' gradients from ū_k (the gradient of the last iterate), iteration by iteration:
    /// v̄ = ū⊙inside, δ̄ = s·v̄, r̄ = −(g·δ̄)/den, ḡ = −r·δ̄/den + 2r·(g·δ̄)/den²·g, then ū ← v̄ + ∇ᵤφ (the kernel's).
    /// A rejected step passes ū on unchanged.
    /// </summary>
    private static Var?[] Backward(ISecondOrderScalarKernel kernel, object checkpoint, IterationTrace[] trace, Tensor gradOut, Node node, double stepSize)
    {
        int B = trace[0].R.Length, D = trace[0].G.Length / B;
        var uBar = new float[B * D];
        using (var c = gradOut.Contiguous()) c.AsSpan<float>().CopyTo(uBar);
        var rBar = new float[B];
        var gBar = new float[B * D];
        var nextBar = new float[B * D];
        kernel.BeginBackward(checkpoint);
        for (int i = trace.Length - 1; i >= 0; i--)
        {
            var it = trace[i];
            Array.Clear(nextBar);
            for (int b = 0; b < B; b++)
            {
                if (it.Rejected[b])
                {
                    rBar[b] = 0;
                    Array.Clear(gBar, b * D, D);
                    Array.Copy(uBar, b * D, nextBar, b * D, D);
                    continue;
                }
                double r = it.R[b], den = it.Denominator[b], gDelta = 0;
                for (int j = 0; j < D; j++)
                {
                    double vBar = it.Inside[b * D + j] ? uBar[b * D + j] : 0;
                    nextBar[b * D + j] = (float)vBar;
                    gDelta += it.G[b * D + j] * stepSize * vBar;
                }
                rBar[b] = (float)(-gDelta / den);
                for (int j = 0; j < D; j++)
                {
                    double deltaBar = stepSize * nextBar[b * D + j];
                    gBar[b * D + j] = (float)(-r * deltaBar / den + 2 * r * gDelta / (den * den) * it.G[b * D + j]);
                }
            }
            kernel.AccumulateBackward(i, it.U, rBar, gBar, nextBar);
            (uBar, nextBar) = (nextBar, uBar);
        }
        var inputGrads = kernel.EndBackward();
        var grads = new Var?[1 + inputGrads.Length];
        if (node.Needs(0)) grads[0] = new Var(Tensor.FromArray<float>(uBar, node.Input(0).Shape, node.Input(0).Value.Device));
        for (int k = 0; k < inputGrads.Length; k++)
            if (inputGrads[k] is { } g)
            {
                if (node.Needs(k + 1)) grads[k + 1] = new Var(g);
                else g.Dispose();
            }
        return grads;
    }
}
