using DiffTori.Autodiff;
using DiffTori.Engine;

namespace DiffTori.TrajOpt;

/// <summary>
/// A scalar residual kernel that also differentiates itself, so that <see cref="LevenbergMarquardt"/>'s recorded
/// iterations run without a graph too. An LM step is a function of r(u) and g = ∇ᵤr(u); its backward pass needs,
/// per iteration and example, the gradient of φ = r̄·r(u) + ḡ·∇ᵤr(u) in u (r̄·g + H·ḡ) and in every input the
/// residual depends on (its start and parameters): a forward-over-reverse pass, which the kernel runs for the whole batch.
/// The gradients are first order: a backward pass with createGraph cannot differentiate them again.
/// </summary>
public interface ISecondOrderScalarKernel : IScalarResidualKernel
{
    /// <summary>
    /// Makes room to keep the activations of <paramref name="steps"/> evaluations (one per recorded iteration), which
    /// <see cref="EvaluateRecorded"/> fills and the backward pass reads instead of evaluating again.
    /// </summary>
    void BeginRecording(int steps);

    /// <summary>
    /// <see cref="IScalarResidualKernel.Evaluate"/> for the whole batch, keeping what the backward pass of recorded
    /// iteration <paramref name="step"/> needs (until the next <see cref="BeginRecording"/>).
    /// </summary>
    void EvaluateRecorded(int step, ReadOnlySpan<float> u, Span<float> residuals, Span<float> gradients);

    /// <summary>What the residual depends on besides u (e.g. the start and every parameter), as they are now.</summary>
    IReadOnlyList<Var> Inputs { get; }

    /// <summary>
    /// The state the kernel computes from now (e.g. its start), to be restored by <see cref="BeginBackward"/> if the
    /// kernel serves another solve before this one's backward pass.
    /// </summary>
    object Checkpoint();

    /// <summary>Starts a backward pass at the state of <paramref name="checkpoint"/>: the input gradients start at zero.</summary>
    void BeginBackward(object checkpoint);

    /// <summary>
    /// For the whole batch at u [B, D] of recorded iteration <paramref name="step"/>, per-example r̄ [B] and ḡ [B, D]:
    /// uBar += ∇ᵤφ, and the input gradients gathered since <see cref="BeginBackward"/> grow by ∇φ,
    /// φ = Σ_b r̄_b·r_b(u) + ḡ_b·∇ᵤr_b(u). Evaluates at u again when that step's activations are gone (another
    /// solve used the kernel since).
    /// </summary>
    void AccumulateBackward(int step, ReadOnlySpan<float> u, ReadOnlySpan<float> rBar, ReadOnlySpan<float> gBar, Span<float> uBar);

    /// <summary>The input gradients gathered since <see cref="BeginBackward"/>, in the order of <see cref="Inputs"/> (null where none arrived).</summary>
    Tensor?[] EndBackward();
}
