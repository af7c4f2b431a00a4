using DiffTori.Engine;

namespace DiffTori.Autodiff;

/// <summary>
/// The reverse pass: a topological order of the recorded graph (iterative DFS, so very deep graphs
/// such as unrolled solvers cannot overflow the stack), then each node's rule in reverse order,
/// summing gradients that meet at a Var. Without createGraph the rules run with recording off and
/// the gradients that only pass through are returned to the buffer pool as soon as they are used.
/// </summary>
internal static class Backprop
{
    /// <summary>Room for the gradients of up to three inputs without touching the heap.</summary>
    [System.Runtime.CompilerServices.InlineArray(3)]
    private struct ThreeSlots
    {
        private Var? _first;
    }

    private static int _epoch;

    [ThreadStatic] private static List<Var>? _orderCache;
    [ThreadStatic] private static Stack<(Var Var, int Next)>? _stackCache;

    /// <summary>The epoch of the running pass when rules may add straight into leaf gradients (no capture, no createGraph), else 0.</summary>
    [ThreadStatic] private static int _directEpoch;

    /// <summary>The epoch of the pass whose rules are running on this thread (0 outside a pass).</summary>
    [ThreadStatic] private static int _runningEpoch;

    /// <summary>
    /// Whether the running pass wants a gradient for v (an input of the node whose rule runs): true outside a
    /// pass; inside one, only when v lies on a path to what the pass computes. A Jacobian taken in the actions
    /// then skips the weight gradients (an outer product each) that its rules would build and the pass drop.
    /// </summary>
    internal static bool Wants(Var v)
    {
        int epoch = _runningEpoch;
        return epoch == 0 || (v.VisitEpoch == epoch && v.Relevant);
    }

    /// <summary>Var.Backward: accumulate into the Grad of every leaf that requires one.</summary>
    public static void Backward(Var root, Var? seed, bool retain, bool create)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward: '{root.Name ?? "output"}' {root.Shape} does not require a gradient (no input requires one, or it was computed in a no-grad scope)");
        Run([root], [seed], captures: null, retain, create);
    }

    /// <summary>
    /// Run the reverse pass from outputs (seeded with seeds, ones where null). With captures, return
    /// the gradient of each captured Var (null where none arrived) and leave every Grad untouched.
    /// </summary>
    /// <param name="stopAtCaptures">Do not search behind a captured Var (valid when no capture depends on
    /// another: then nothing behind a capture lies on a path to a capture, and a graph that has grown long
    /// behind the inputs, as in an unrolled solver, is not walked at every pass).</param>
    public static Var?[]? Run(IReadOnlyList<Var> outputs, IReadOnlyList<Var?> seeds, IReadOnlyList<Var>? captures, bool retain, bool create,
        bool stopAtCaptures = false)
    {
        int epoch = Interlocked.Increment(ref _epoch);
        bool capture = captures is not null;
        if (capture)
        {
            for (int i = 0; i < captures!.Count; i++)
            {
                var c = captures[i];
                if (c.CaptureEpoch != epoch) { c.CaptureEpoch = epoch; c.CaptureIndex = i; }
            }
        }

        var order = _orderCache ?? new List<Var>();
        _orderCache = null;
        var stack = _stackCache ?? new Stack<(Var, int)>();
        _stackCache = null;
        order.Clear();
        var results = capture ? new Var?[captures!.Count] : null;
        bool previousDisabled = Autograd.SetDisabled(!create);
        int previousDirect = _directEpoch, previousRunning = _runningEpoch;
        _directEpoch = capture || create ? 0 : epoch;
        _runningEpoch = epoch;
        try
        {
            for (int i = 0; i < outputs.Count; i++)
                if (outputs[i].RequiresGrad) Visit(outputs[i], epoch, capture, stopAtCaptures && capture, order, stack);

            for (int i = 0; i < outputs.Count; i++)
            {
                var output = outputs[i];
                if (!output.RequiresGrad) continue;
                var seed = SeedFor(output, i < seeds.Count ? seeds[i] : null, create);
                output.PendingGrad = output.PendingGrad is null ? seed : Sum(output.PendingGrad, seed, create);
            }

            for (int i = order.Count - 1; i >= 0; i--)
                Step(order[i], epoch, capture, results, retain, create);
            if (_directEpoch == epoch) DeferredOuterProducts.Flush(); // the rank-one weight gradients the rules staged

            if (capture)
                for (int i = 0; i < captures!.Count; i++)
                    if (results![i] is null && captures[i].CaptureEpoch == epoch && captures[i].CaptureIndex != i)
                        results[i] = results[captures[i].CaptureIndex];
            return results;
        }
        catch
        {
            DeferredOuterProducts.Discard();
            throw;
        }
        finally
        {
            Autograd.SetDisabled(previousDisabled);
            _directEpoch = previousDirect;
            _runningEpoch = previousRunning;
            foreach (var v in order) v.PendingGrad = null;
            order.Clear();
            stack.Clear();
            _orderCache = order;
            _stackCache = stack;
        }
    }

    private static Var SeedFor(Var output, Var? seed, bool create)
    {
        if (seed is null) return new Var(Tensor.OnesLike(output.Value), null);
        if (seed.Shape != output.Shape)
            throw new TensorShapeException($"Backward: the seed has shape {seed.Shape}, the output {output.Shape}");
        // The caller keeps its seed: work on a copy that the pass may give away or return to the pool.
        return create ? seed : new Var(seed.Value.Clone(), null);
    }

    /// <summary>Post-order DFS over Vars that require a gradient; marks which lead to a captured Var.</summary>
    private static void Visit(Var root, int epoch, bool capture, bool stopAtCaptures, List<Var> order, Stack<(Var Var, int Next)> stack)
    {
        if (root.VisitEpoch == epoch) return;
        Mark(root, epoch, capture);
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (v, next) = stack.Pop();
            // A capture's inputs are not searched when the caller says no capture lies behind another.
            var node = stopAtCaptures && v.CaptureEpoch == epoch ? null : v.Node;
            if (node is not null && node.IsReleased && !(capture && v.CaptureEpoch == epoch))
                throw new InvalidOperationException(
                    $"Backward: the graph through {node.Op} was already released by an earlier backward pass; pass retainGraph: true to the first one");
            if (node is not null && !node.IsReleased && next < node.Arity)
            {
                stack.Push((v, next + 1));
                var input = node.Input(next);
                if (!input.RequiresGrad) continue;
                if (input.VisitEpoch != epoch)
                {
                    Mark(input, epoch, capture);
                    stack.Push((input, 0));
                }
                else if (input.Relevant) v.Relevant = true;
                continue;
            }
            order.Add(v);
            if (v.Relevant && stack.Count > 0)
            {
                var (parent, parentNext) = stack.Pop();
                parent.Relevant = true;
                stack.Push((parent, parentNext));
            }
        }
    }

    private static void Mark(Var v, int epoch, bool capture)
    {
        v.VisitEpoch = epoch;
        v.PendingGrad = null;
        v.Relevant = !capture || v.CaptureEpoch == epoch;
    }

    private static void Step(Var v, int epoch, bool capture, Var?[]? results, bool retain, bool create)
    {
        var g = v.PendingGrad;
        v.PendingGrad = null;
        var node = v.Node;
        if (g is null || !v.Relevant)
        {
            if (!retain && v.Relevant) node?.Release();
            return;
        }
        if (v.HasHooks) g = v.ApplyHooks(g);

        // "given" = g's storage now belongs to someone else (a result or an input's gradient); a second
        // sharer gets a copy, so no two gradients alias memory that may later be changed in place.
        bool given = false;
        if (capture && v.CaptureEpoch == epoch)
        {
            results![v.CaptureIndex] = g;
            given = true;
        }

        if (node is null)
        {
            if (!capture) AccumulateLeaf(v, g, epoch, create, owned: !v.HasHooks);
            return;
        }
        if (node.IsReleased) return; // a captured Var whose graph above was already released

        var grads = node.Rule!(node, g);

        // First decide every input's gradient (copying where two would share g's memory), then hand them
        // over: handing over may add into an existing gradient and return g's buffer to the pool.
        var gStorage = g.Value.Storage;
        var inline = new ThreeSlots();
        Span<Var?> slots = grads.Many is { } many ? many : inline[..node.Arity];
        if (grads.Many is null)
            for (int k = 0; k < node.Arity; k++) slots[k] = grads[k];
        bool gObjectPassed = given;
        for (int k = 0; k < node.Arity; k++)
        {
            var r = slots[k];
            if (r is null) continue;
            var input = node.Input(k);
            if (!input.RequiresGrad || input.VisitEpoch != epoch || !input.Relevant)
            {
                if (!create && !ReferenceEquals(r.Value, g.Value)) r.Value.Dispose();
                slots[k] = null;
                continue;
            }
            if (r.Shape != input.Shape)
                throw new InvalidOperationException($"backward of {node.Op}: input {k} has shape {input.Shape} but its gradient has shape {r.Shape} (a bug in the rule)");
            if (!create && ReferenceEquals(r.Value.Storage, gStorage))
            {
                if (given) slots[k] = r = new Var(r.Value.Clone(), null);
                else given = true;
            }
            if (ReferenceEquals(r.Value, g.Value)) gObjectPassed = true;
        }
        for (int k = 0; k < node.Arity; k++)
        {
            if (slots[k] is not { } r) continue;
            var input = node.Input(k);
            input.PendingGrad = input.PendingGrad is null ? r : Sum(input.PendingGrad, r, create);
        }
        if (!create && !gObjectPassed) g.Value.Dispose();
        if (!retain) node.Release();
    }

    /// <summary>
    /// The Grad tensor of a leaf that a rule may accumulate its gradient into directly (e.g. one GEMM with
    /// beta = 1), skipping the temporary gradient and the separate add; null when the ordinary path must run:
    /// not a plain backward pass, not a leaf of this pass, hooks to apply, or a Grad this pass does not own.
    /// </summary>
    /// beta is 0 when the Grad holds a pending zero (the caller must then overwrite it), else 1.
    internal static Tensor? DirectGradTarget(Var input, Shape shape, out double beta)
    {
        beta = 1;
        int epoch = _directEpoch;
        if (epoch == 0 || input.Node is not null || input.VisitEpoch != epoch || !input.Relevant || input.HasHooks) return null;
        var grad = input.GradRaw;
        if (grad is null || !input.GradOwned || grad.RequiresGrad) return null;
        var t = grad.Value;
        if (!(t.IsContiguous && t.Shape == shape && t.DType == input.DType && t.Device == input.Device)) return null;
        if (input.GradZeroPending)
        {
            input.GradZeroPending = false;
            beta = 0;
        }
        return t;
    }

    /// <summary>a + b for two gradients; without createGraph both operands are pass-owned and go back to the pool.</summary>
    private static Var Sum(Var a, Var b, bool create)
    {
        if (create) return F.Add(a, b);
        var sum = new Var(Ops.Add(a.Value, b.Value), null);
        a.Value.Dispose();
        b.Value.Dispose();
        return sum;
    }

    /// <summary>
    /// Add g into leaf.Grad. Like PyTorch, an existing Grad that this pass may write to is updated in
    /// place (no allocation in a training loop that zeroes its gradients); a Grad the caller set, or one
    /// that a hook produced, is replaced by a new sum instead.
    /// </summary>
    private static void AccumulateLeaf(Var leaf, Var g, int epoch, bool create, bool owned)
    {
        if (owned && leaf.GradZeroPending && !create && leaf.GradRaw is { } zeroed && zeroed.Shape == g.Shape && zeroed.DType == g.DType && zeroed.Device == g.Device)
        {
            // ZeroGrad was deferred: overwrite instead of filling with zeros and adding.
            leaf.GradZeroPending = false;
            zeroed.Value.CopyFrom(g.Value);
            g.Value.Dispose();
            return;
        }
        var old = leaf.Grad;
        if (old is null)
        {
            if (!create && !g.Value.IsContiguous)
            {
                var dense = new Var(g.Value.Clone(), null);
                g.Value.Dispose();
                g = dense;
            }
            TensorScope.Release(g);
            leaf.Grad = g;
            leaf.GradOwned = owned && !create;
            leaf.GradEpoch = epoch;
            return;
        }
        if (create || old.RequiresGrad)
        {
            leaf.Grad = F.Add(old, g);
            TensorScope.Release(leaf.Grad);
            return;
        }
        if (old.Shape != g.Shape)
            throw new TensorShapeException($"Backward: the existing Grad of '{leaf.Name}' has shape {old.Shape}, the new gradient {g.Shape}");
        if (leaf.GradOwned && old.Value.IsContiguous)
        {
            Ops.AddInPlace(old.Value, g.Value);
            g.Value.Dispose();
            return;
        }
        // A Grad we did not allocate (set by the caller, or from a hook): add out of place.
        var sum = new Var(Ops.Add(old.Value, g.Value), null);
        if (leaf.GradEpoch == epoch) old.Value.Dispose();
        g.Value.Dispose();
        TensorScope.Release(sum);
        leaf.Grad = sum;
        leaf.GradOwned = true;
        leaf.GradEpoch = epoch;
    }
}
