using DiffTori.Engine;

namespace DiffTori.Autodiff.Optim;

/// <summary>
/// Updates a fixed list of parameters from their gradients, in place. State tensors (momentum,
/// moments) are allocated once, at construction, with each parameter's shape; a step allocates nothing
/// for CPU parameters. <see cref="StateTensors"/> and the step counters are what a checkpoint saves.
/// </summary>
public abstract class Optimizer
{
    private readonly Var[] _parameters;
    private readonly long[] _parameterSteps;
    private readonly List<KeyValuePair<string, Tensor>> _state = [];
    private Tensor?[]? _scratch;

    protected Optimizer(IEnumerable<Var> parameters, double learningRate, string kind)
    {
        Kind = kind;
        _parameters = parameters.ToArray();
        if (_parameters.Length == 0) throw new ArgumentException($"{kind}: no parameters to optimize");
        var seen = new HashSet<Var>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i] ?? throw new ArgumentNullException(nameof(parameters), $"{kind}: parameter {i} is null");
            if (!seen.Add(p)) throw new ArgumentException($"{kind}: parameter {Describe(i)} appears twice");
            if (!p.Value.DType.IsFloatingPoint())
                throw new ArgumentException($"{kind}: parameter {Describe(i)} is {p.Value.DType.Name()}, expected float32 or float64");
            if (!p.Value.IsContiguous)
                throw new ArgumentException($"{kind}: parameter {Describe(i)} of shape {p.Value.Shape} is a strided view; parameters must be contiguous");
        }
        RequireNonNegative(learningRate, "learning rate");
        LearningRate = learningRate;
        _parameterSteps = new long[_parameters.Length];
    }

    /// <summary>"SGD", "Adam" or "AdamW": stored in checkpoints so that a state is not loaded into the wrong kind of optimizer.</summary>
    public string Kind { get; }

    public IReadOnlyList<Var> Parameters => _parameters;

    /// <summary>The learning rate of the next step; with a <see cref="Schedule"/>, the one the last step used.</summary>
    public double LearningRate { get; set; }

    /// <summary>When set, step k uses Schedule.At(k) instead of <see cref="LearningRate"/>.</summary>
    public LrSchedule? Schedule { get; set; }

    /// <summary>Number of Step() calls so far.</summary>
    public long StepCount { get; private set; }

    /// <summary>Steps that parameter i has taken (it skips steps where it has no gradient; Adam's bias correction uses this).</summary>
    public long ParameterStep(int index) => _parameterSteps[index];

    /// <summary>State tensors by name ("{parameter index}.{what}"), live: checkpoints read and overwrite them.</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> StateTensors => _state;

    /// <summary>Run the updates through engine ops instead of the fused CPU loops (always so on a GPU); tests compare the two.</summary>
    internal bool UseOpsPath { get; set; }

    /// <summary>Update every parameter that has a gradient, then advance the step count.</summary>
    public void Step()
    {
        double lr = Schedule?.At(StepCount) ?? LearningRate;
        LearningRate = lr;
        for (int i = 0; i < _parameters.Length; i++)
        {
            var grad = _parameters[i].Grad;
            if (grad is null) continue;
            var p = _parameters[i].Value;
            var g = grad.Value;
            if (g.Shape != p.Shape || g.DType != p.DType || g.Device != p.Device)
                throw new ArgumentException($"{Kind}.Step: gradient of parameter {Describe(i)} is {g.DType.Name()} {g.Shape} on {g.Device}, parameter is {p.DType.Name()} {p.Shape} on {p.Device}");
            long t = ++_parameterSteps[i];
            bool fused = p.Device.IsCpu && !UseOpsPath;
            if (fused && !g.IsContiguous)
            {
                using var dense = g.Contiguous();
                Update(i, p, dense, lr, t, fused);
            }
            else Update(i, p, g, lr, t, fused);
        }
        StepCount++;
    }

    /// <summary>Apply one update to parameter i (its t-th step) with learning rate lr; fused = CPU loops on spans, else engine ops.</summary>
    protected abstract void Update(int index, Tensor parameter, Tensor grad, double lr, long t, bool fused);

    /// <summary>Reset the gradients of all parameters before the next backward pass (see <see cref="GradClip.ResetGrad"/>).</summary>
    public void ZeroGrad(bool setToNone = false)
    {
        foreach (var p in _parameters) GradClip.ResetGrad(p, setToNone);
    }

    /// <summary>Scale all gradients so that their global L2 norm is at most maxNorm; returns the norm before clipping.</summary>
    public double ClipGradNorm(double maxNorm) => GradClip.ClipGradNorm(_parameters, maxNorm);

    /// <summary>Restore the counters saved in a checkpoint (the state tensors are restored by copying into <see cref="StateTensors"/>).</summary>
    public void RestoreCounters(long stepCount, ReadOnlySpan<long> parameterSteps)
    {
        if (parameterSteps.Length != _parameterSteps.Length)
            throw new ArgumentException($"{Kind}.RestoreCounters: {parameterSteps.Length} parameter step counts for {_parameterSteps.Length} parameters");
        if (stepCount < 0) throw new ArgumentOutOfRangeException(nameof(stepCount), stepCount, $"{Kind}.RestoreCounters: negative step count");
        foreach (long s in parameterSteps)
            if (s < 0 || s > stepCount)
                throw new ArgumentOutOfRangeException(nameof(parameterSteps), s, $"{Kind}.RestoreCounters: a parameter step count must lie in [0, {stepCount}]");
        StepCount = stepCount;
        parameterSteps.CopyTo(_parameterSteps);
    }

    /// <summary>A zero tensor shaped like parameter index, registered as state "{index}.{name}".</summary>
    protected Tensor AddState(int index, string name)
    {
        var t = Tensor.ZerosLike(_parameters[index].Value);
        _state.Add(new($"{index}.{name}", t));
        return t;
    }

    /// <summary>A work tensor for the engine-ops path, made on first use (GPU parameters only, or tests).</summary>
    protected Tensor Scratch(int index)
    {
        _scratch ??= new Tensor?[_parameters.Length];
        return _scratch[index] ??= Tensor.EmptyLike(_parameters[index].Value);
    }

    protected string Describe(int index) => _parameters[index].Name is { } name ? $"{index} ('{name}')" : index.ToString();

    protected void RequireNonNegative(double value, string what)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(what, value, $"{Kind}: {what} must be a finite number ≥ 0, got {value}");
    }

    protected void RequireBeta(double value, string what)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(what, value, $"{Kind}: {what} must lie in [0, 1), got {value}");
    }
}
