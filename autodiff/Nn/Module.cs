using DiffTori.Engine;

namespace DiffTori.Autodiff.Nn;

/// <summary>
/// A container of named parameters (Vars that require gradients) and named submodules. Names are
/// hierarchical and deterministic: parameters of a module in registration order, then each child's
/// under "child.", depth first — "encoder.0.weight" as PyTorch's state_dict spells it, so that
/// checkpoints line up with PyTorch models built the same way.
/// </summary>
public abstract class Module
{
    private readonly List<KeyValuePair<string, Var>> _parameters = [];
    private readonly List<KeyValuePair<string, Module>> _children = [];

    /// <summary>True in training mode (dropout active), false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>This module's own parameters (not its children's), in registration order.</summary>
    public IReadOnlyList<KeyValuePair<string, Var>> LocalParameters => _parameters;

    /// <summary>Direct submodules in registration order.</summary>
    public IReadOnlyList<KeyValuePair<string, Module>> Children => _children;

    /// <summary>Set training mode on this module and every submodule; returns this.</summary>
    public Module Train(bool training = true)
    {
        Training = training;
        foreach (var (_, child) in _children) child.Train(training);
        return this;
    }

    /// <summary>Evaluation mode (dropout off) for this module and every submodule; returns this.</summary>
    public Module Eval() => Train(false);

    /// <summary>Every parameter with its full dotted name, depth first in registration order.</summary>
    public List<KeyValuePair<string, Var>> NamedParameters()
    {
        var result = new List<KeyValuePair<string, Var>>();
        Collect("", result);
        return result;
    }

    /// <summary>Every parameter, in the order of <see cref="NamedParameters"/> (what an optimizer takes).</summary>
    public List<Var> Parameters()
    {
        var named = NamedParameters();
        var result = new List<Var>(named.Count);
        foreach (var (_, p) in named) result.Add(p);
        return result;
    }

    /// <summary>This module ("") and every submodule with its dotted name, depth first in registration order.</summary>
    public List<KeyValuePair<string, Module>> NamedModules()
    {
        var result = new List<KeyValuePair<string, Module>>();
        CollectModules("", result);
        return result;
    }

    /// <summary>Total number of parameter elements.</summary>
    public long ParameterCount()
    {
        long n = 0;
        foreach (var (_, p) in NamedParameters()) n += p.Value.Length;
        return n;
    }

    /// <summary>Reset every parameter's gradient before the next backward pass (see <see cref="Optim.GradClip.ResetGrad"/>).</summary>
    public void ZeroGrad(bool setToNone = false)
    {
        foreach (var (_, p) in NamedParameters()) Optim.GradClip.ResetGrad(p, setToNone);
    }

    /// <summary>Register value as a parameter named name; the module owns the tensor from now on.</summary>
    protected Var AddParameter(string name, Tensor value)
    {
        CheckName(name);
        if (!value.DType.IsFloatingPoint())
            throw new ArgumentException($"{GetType().Name}: parameter '{name}' must be float32 or float64, got {value.DType.Name()}");
        var p = new Var(value, requiresGrad: true, name: name);
        _parameters.Add(new(name, p));
        return p;
    }

    /// <summary>Register a submodule; its parameters appear under "name.".</summary>
    protected T AddModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException($"{GetType().Name}: a module cannot contain itself");
        _children.Add(new(name, module));
        module.Train(Training);
        return module;
    }

    private void Collect(string prefix, List<KeyValuePair<string, Var>> into)
    {
        foreach (var (name, p) in _parameters) into.Add(new(prefix + name, p));
        foreach (var (name, child) in _children) child.Collect(prefix + name + ".", into);
    }

    private void CollectModules(string name, List<KeyValuePair<string, Module>> into)
    {
        into.Add(new(name, this));
        foreach (var (childName, child) in _children) child.CollectModules(name.Length == 0 ? childName : name + "." + childName, into);
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"{GetType().Name}: '{name}' is not a valid parameter or module name (non-empty, no '.')");
        foreach (var (n, _) in _parameters)
            if (n == name) throw new ArgumentException($"{GetType().Name}: the name '{name}' is already used by a parameter");
        foreach (var (n, _) in _children)
            if (n == name) throw new ArgumentException($"{GetType().Name}: the name '{name}' is already used by a submodule");
    }
}

/// <summary>A module with one input and one output: the building block of <see cref="Sequential"/>.</summary>
public abstract class Layer : Module
{
    public abstract Var Forward(Var input);
}
