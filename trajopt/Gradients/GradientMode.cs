namespace DiffTori.TrajOpt;

/// <summary>How a solver's output is connected to the graph of its inputs.</summary>
public enum GradientMode
{
    /// <summary>The solution is a constant (no gradient).</summary>
    None,
    /// <summary>Backpropagate through every iteration (needs grad-of-grad: each iteration's Jacobian is itself in the graph).</summary>
    Unrolled,
    /// <summary>Run all but the last k iterations without recording; backpropagate through the last k only.</summary>
    Truncated,
    /// <summary>Implicit function theorem at the solution: one Newton-type step whose matrix is detached.</summary>
    Implicit,
}
