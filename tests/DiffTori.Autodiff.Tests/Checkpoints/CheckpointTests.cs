using DiffTori.Autodiff.Checkpoints;
using DiffTori.Autodiff.Nn;
using DiffTori.Autodiff.Optim;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests.Checkpoints;

/// <summary>Saving and restoring a module with its optimizer: exact resumption, and all-or-nothing loads.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("difftori-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    private static Sequential Net(int seed, int hidden = 8) =>
        Mlp.Build([3, hidden, 2], () => new Elu(), new RandomGenerator((ulong)seed), layerNorm: true);

    private static readonly Tensor Inputs = Tensor.FromDoubles(Enumerable.Range(0, 12).Select(i => Math.Sin(i)).ToArray(), new Shape(4, 3));
    private static readonly Tensor Targets = Tensor.FromDoubles(Enumerable.Range(0, 8).Select(i => Math.Cos(i)).ToArray(), new Shape(4, 2));

    private static void TrainSteps(Sequential net, Optimizer opt, int steps)
    {
        for (int i = 0; i < steps; i++)
        {
            opt.ZeroGrad();
            F.Mse(net.Forward(new Var(Inputs)), new Var(Targets)).Backward();
            opt.ClipGradNorm(10);
            opt.Step();
        }
    }

    private static List<double[]> Values(Module m) => m.Parameters().Select(p => p.Value.ToDoubleArray()).ToList();

    [Fact]
    public void Resuming_from_a_checkpoint_continues_training_exactly()
    {
        // Uninterrupted: 6 steps.
        var straight = Net(1);
        var straightOpt = new Adam(straight.Parameters(), 1e-2);
        TrainSteps(straight, straightOpt, 6);

        // Interrupted after 3 steps, saved, restored into fresh objects, 3 more steps.
        var first = Net(1);
        var firstOpt = new Adam(first.Parameters(), 1e-2);
        TrainSteps(first, firstOpt, 3);
        using var rngState = Tensor.FromArray(new[] { 42, 7 });
        Checkpoint.Save(PathOf("run.safetensors"), first, firstOpt, new Dictionary<string, Tensor> { ["rng"] = rngState },
            new Dictionary<string, string> { ["env_steps"] = "3000" });

        var resumed = Net(99);
        var resumedOpt = new Adam(resumed.Parameters(), 1e-2);
        using var rngBack = Tensor.Zeros(new Shape(2), DType.Int32);
        var meta = Checkpoint.Load(PathOf("run.safetensors"), resumed, resumedOpt, new Dictionary<string, Tensor> { ["rng"] = rngBack });
        Assert.Equal("3000", meta["env_steps"]);
        Assert.Equal("Adam", meta["difftori.optimizer"]);
        Assert.Equal([42, 7], rngBack.ToArray<int>());
        Assert.Equal(3, resumedOpt.StepCount);
        Assert.Equal(Values(first), Values(resumed));

        TrainSteps(resumed, resumedOpt, 3);
        Assert.Equal(Values(straight), Values(resumed));
    }

    [Fact]
    public void The_file_holds_parameters_under_their_names_and_optimizer_state_under_a_prefix()
    {
        var net = Net(2);
        var opt = new Sgd(net.Parameters(), 0.1, momentum: 0.9);
        TrainSteps(net, opt, 2);
        Checkpoint.Save(PathOf("names.safetensors"), net, opt);
        using var content = SafeTensorsReader.Load(PathOf("names.safetensors"));
        Assert.Equal(
            ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias",
             "optimizer.0.momentum_buffer", "optimizer.1.momentum_buffer", "optimizer.2.momentum_buffer",
             "optimizer.3.momentum_buffer", "optimizer.4.momentum_buffer", "optimizer.5.momentum_buffer",
             "optimizer.parameter_steps", "optimizer.step_count"],
            content.Names);
        Assert.Equal(net.Parameters()[0].Value.ToArray<float>(), content["0.weight"].ToArray<float>());
        Assert.Equal(2.0, content["optimizer.step_count"].Item());
        Assert.Equal("pt", content.Metadata["format"]);
    }

    private void AssertRejectedAndUntouched(Sequential target, Optimizer? opt, string path, params string[] fragments)
    {
        var before = Values(target);
        long steps = opt?.StepCount ?? 0;
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path, target, opt));
        Assert.Contains(path, e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        Assert.Equal(before, Values(target));
        Assert.Equal(steps, opt?.StepCount ?? 0);
    }

    [Fact]
    public void Missing_unexpected_misshaped_and_wrong_dtype_tensors_are_named_and_nothing_is_loaded()
    {
        var source = Net(3);
        Checkpoint.Save(PathOf("plain.safetensors"), source, null);

        // A wider hidden layer: every hidden-size tensor is mis-shaped.
        AssertRejectedAndUntouched(Net(4, hidden: 9), null, PathOf("plain.safetensors"),
            "'0.weight' has shape [8, 3] in the file, expected [9, 3]", "'1.bias'");

        // Expecting optimizer state that is not there.
        var withOpt = Net(5);
        AssertRejectedAndUntouched(withOpt, new Adam(withOpt.Parameters()), PathOf("plain.safetensors"),
            "missing tensor 'optimizer.0.exp_avg'", "missing tensor 'optimizer.step_count'");

        // A file with an extra tensor.
        using (var extra = Tensor.Zeros(new Shape(3)))
            Checkpoint.Save(PathOf("extra.safetensors"), source, null, new Dictionary<string, Tensor> { ["stray"] = extra });
        AssertRejectedAndUntouched(Net(6), null, PathOf("extra.safetensors"), "unexpected tensor 'stray'");

        // A float64 model cannot silently load float32 parameters.
        var f64 = Mlp.Build([3, 8, 2], () => new Elu(), new RandomGenerator(7), layerNorm: true, dtype: DType.Float64);
        AssertRejectedAndUntouched(f64, null, PathOf("plain.safetensors"), "'0.weight' is float32 in the file, expected float64");

        // State saved by SGD is not Adam's.
        var sgdNet = Net(8);
        var sgd = new Sgd(sgdNet.Parameters(), 0.1, momentum: 0.9);
        Checkpoint.Save(PathOf("sgd.safetensors"), sgdNet, sgd);
        var adamNet = Net(9);
        AssertRejectedAndUntouched(adamNet, new Adam(adamNet.Parameters()), PathOf("sgd.safetensors"), "for SGD, not Adam");
    }

    [Fact]
    public void A_truncated_or_corrupt_file_loads_nothing()
    {
        var source = Net(10);
        var opt = new Adam(source.Parameters());
        TrainSteps(source, opt, 1);
        string path = PathOf("full.safetensors");
        Checkpoint.Save(path, source, opt);
        var bytes = File.ReadAllBytes(path);

        File.WriteAllBytes(PathOf("cut.safetensors"), bytes[..(bytes.Length - 5)]);
        var target = Net(11);
        var targetOpt = new Adam(target.Parameters());
        AssertRejectedAndUntouched(target, targetOpt, PathOf("cut.safetensors"), "truncated");

        var flipped = (byte[])bytes.Clone();
        flipped[9] = (byte)'!';   // inside the JSON header
        File.WriteAllBytes(PathOf("flip.safetensors"), flipped);
        AssertRejectedAndUntouched(target, targetOpt, PathOf("flip.safetensors"), "not valid JSON");

        // Counters that are not step counts.
        using var content = SafeTensorsReader.Load(path);
        var tensors = content.Names.Select(n => new KeyValuePair<string, Tensor>(n, content[n])).ToList();
        int i = tensors.FindIndex(t => t.Key == "optimizer.step_count");
        using var bad = Tensor.Scalar(2.5, DType.Float64);
        tensors[i] = new("optimizer.step_count", bad);
        SafeTensorsWriter.Save(PathOf("count.safetensors"), tensors, content.Metadata);
        AssertRejectedAndUntouched(target, targetOpt, PathOf("count.safetensors"), "holds 2.5, not a step count");
    }

    [Fact]
    public void Name_collisions_are_refused_when_saving()
    {
        var net = Net(12);
        using var t = Tensor.Zeros(new Shape(1));
        var e = Assert.Throws<CheckpointException>(() =>
            Checkpoint.Save(PathOf("c.safetensors"), net, null, new Dictionary<string, Tensor> { ["0.weight"] = t }));
        Assert.Contains("'0.weight' is used twice", e.Message);
        Assert.False(File.Exists(PathOf("c.safetensors")));
    }
}
