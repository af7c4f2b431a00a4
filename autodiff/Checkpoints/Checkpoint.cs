using System.Globalization;
using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Checkpoints;

/// <summary>
/// Save and restore training state as one safetensors file: a module's parameters under their
/// dotted names (so PyTorch's safetensors.torch.load_file gives a state_dict), the optimizer's state
/// under "optimizer." (moments, momentum buffers, step counters), any extra tensors under their own
/// names, and string metadata. Writes are atomic. Loads are all-or-nothing: the file is read and
/// checked completely — every expected tensor present with the right shape and dtype, nothing
/// unexpected — before a single parameter is overwritten.
/// </summary>
public static class Checkpoint
{
    public const string OptimizerPrefix = "optimizer.";
    private const string StepCountName = OptimizerPrefix + "step_count";
    private const string ParameterStepsName = OptimizerPrefix + "parameter_steps";
    private const string OptimizerKindKey = "difftori.optimizer";

    public static void Save(string path, Module? module, Optimizer? optimizer = null,
        IReadOnlyDictionary<string, Tensor>? extra = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var owned = new List<Tensor>();
        try
        {
            if (module is not null)
                foreach (var (name, p) in module.NamedParameters()) tensors.Add(new(name, p.Value));
            if (optimizer is not null)
            {
                foreach (var (name, t) in optimizer.StateTensors) tensors.Add(new(OptimizerPrefix + name, t));
                var steps = new double[optimizer.Parameters.Count];
                for (int i = 0; i < steps.Length; i++) steps[i] = optimizer.ParameterStep(i);
                var stepTensor = Tensor.FromDoubles(steps, new Shape(steps.Length), DType.Float64);
                var countTensor = Tensor.Scalar(optimizer.StepCount, DType.Float64);
                owned.Add(stepTensor);
                owned.Add(countTensor);
                tensors.Add(new(ParameterStepsName, stepTensor));
                tensors.Add(new(StepCountName, countTensor));
            }
            if (extra is not null)
                foreach (var (name, t) in extra) tensors.Add(new(name, t));

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, _) in tensors)
                if (!seen.Add(name))
                    throw new CheckpointException($"checkpoint '{path}': the name '{name}' is used twice (a parameter, optimizer state or extra tensor collide)");

            var meta = new Dictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };
            if (optimizer is not null) meta[OptimizerKindKey] = optimizer.Kind;
            if (metadata is not null)
                foreach (var (k, v) in metadata) meta[k] = v;
            SafeTensorsWriter.Save(path, tensors, meta);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>
    /// Restore module parameters, optimizer state and the extra tensors (filled in place; their names,
    /// shapes and dtypes are what the file must contain) from path. Returns the file's metadata.
    /// Throws <see cref="CheckpointException"/> listing every problem, with nothing modified.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Load(string path, Module? module, Optimizer? optimizer = null,
        IReadOnlyDictionary<string, Tensor>? extra = null)
    {
        using var content = SafeTensorsReader.Load(path);
        var targets = new List<KeyValuePair<string, Tensor>>();
        if (module is not null)
            foreach (var (name, p) in module.NamedParameters()) targets.Add(new(name, p.Value));
        if (optimizer is not null)
            foreach (var (name, t) in optimizer.StateTensors) targets.Add(new(OptimizerPrefix + name, t));
        if (extra is not null)
            foreach (var (name, t) in extra) targets.Add(new(name, t));

        var problems = new List<string>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, target) in targets)
        {
            if (!expected.Add(name))
                throw new CheckpointException($"checkpoint '{path}': the name '{name}' is requested twice (a parameter, optimizer state or extra tensor collide)");
            if (!content.Contains(name)) { problems.Add($"missing tensor '{name}' ({target.DType.Name()} {target.Shape})"); continue; }
            var stored = content[name];
            if (stored.Shape != target.Shape)
                problems.Add($"tensor '{name}' has shape {stored.Shape} in the file, expected {target.Shape}");
            if (stored.DType != target.DType)
                problems.Add($"tensor '{name}' is {stored.DType.Name()} in the file, expected {target.DType.Name()}");
        }

        long stepCount = 0;
        long[] parameterSteps = [];
        if (optimizer is not null)
        {
            expected.Add(StepCountName);
            expected.Add(ParameterStepsName);
            if (content.Metadata.TryGetValue(OptimizerKindKey, out var kind) && kind != optimizer.Kind)
                problems.Add($"the optimizer state is for {kind}, not {optimizer.Kind}");
            stepCount = ReadCounter(content, StepCountName, new Shape(), problems)?[0] ?? 0;
            parameterSteps = ReadCounter(content, ParameterStepsName, new Shape(optimizer.Parameters.Count), problems) ?? [];
        }
        foreach (var name in content.Names)
            if (!expected.Contains(name)) problems.Add($"unexpected tensor '{name}' ({content[name].DType.Name()} {content[name].Shape})");

        if (problems.Count > 0)
            throw new CheckpointException($"checkpoint '{path}' does not match: {string.Join("; ", problems)}");

        // Everything checked: move the values to each target's device first (the step that could still fail), then assign.
        var staged = new List<(Tensor Target, Tensor Source)>(targets.Count);
        try
        {
            foreach (var (name, target) in targets) staged.Add((target, content[name].To(target.Device)));
            if (optimizer is not null)
            {
                try { optimizer.RestoreCounters(stepCount, parameterSteps); }
                catch (ArgumentException e) { throw new CheckpointException($"checkpoint '{path}': invalid optimizer counters: {e.Message}", e); }
            }
            foreach (var (target, source) in staged) target.CopyFrom(source);
        }
        finally
        {
            foreach (var (_, source) in staged) source.Dispose();
        }
        return content.Metadata;
    }

    /// <summary>A float64 tensor of whole non-negative numbers, as longs; null (and a problem noted) if absent or malformed.</summary>
    private static long[]? ReadCounter(SafeTensorsContent content, string name, Shape shape, List<string> problems)
    {
        if (!content.Contains(name)) { problems.Add($"missing tensor '{name}' (float64 {shape})"); return null; }
        var t = content[name];
        if (t.DType != DType.Float64 || t.Shape != shape)
        {
            problems.Add($"tensor '{name}' is {t.DType.Name()} {t.Shape} in the file, expected float64 {shape}");
            return null;
        }
        var values = t.ToArray<double>();
        var result = new long[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (!(v >= 0 && v <= 9007199254740992.0 && Math.Floor(v) == v))
            {
                problems.Add($"tensor '{name}' holds {v.ToString(CultureInfo.InvariantCulture)}, not a step count");
                return null;
            }
            result[i] = (long)v;
        }
        return result;
    }
}
