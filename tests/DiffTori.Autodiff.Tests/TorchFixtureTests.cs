using System.Text.Json;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests;

/// <summary>
/// Values, gradients and Hessian–vector products of small models against PyTorch 1.13 (float64),
/// from tests/fixtures/autodiff_torch_fixture.json (regenerate with tests/fixtures/make_torch_fixture.py).
/// </summary>
public class TorchFixtureTests
{
    private const double Tolerance = 1e-9;

    private sealed class Case(JsonElement json)
    {
        public string Name => json.GetProperty("name").GetString()!;
        public double Loss => json.GetProperty("loss").GetDouble();
        public Tensor Tensor(string name, DType dtype = DType.Float64) => Read(json.GetProperty("tensors").GetProperty(name), dtype);
        public Tensor Grad(string name) => Read(json.GetProperty("grads").GetProperty(name), DType.Float64);
        public Tensor V(string name) => Read(json.GetProperty("v").GetProperty(name), DType.Float64);
        public Tensor Hvp(string name) => Read(json.GetProperty("hvp").GetProperty(name), DType.Float64);

        private static Tensor Read(JsonElement e, DType dtype)
        {
            var shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var data = e.GetProperty("data").EnumerateArray().Select(d => d.GetDouble()).ToArray();
            return Engine.Tensor.FromDoubles(data, new Shape(shape), dtype);
        }
    }

    private static Case Load(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tests", "fixtures", "autodiff_torch_fixture.json"))) dir = dir.Parent;
        Assert.NotNull(dir);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir!.FullName, "tests", "fixtures", "autodiff_torch_fixture.json")));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            if (c.GetProperty("name").GetString() == name) return new Case(c.Clone());
        throw new InvalidOperationException($"fixture case {name} not found");
    }

    /// <summary>Loss, gradient and Hessian–vector product of loss(params) compared with the fixture.</summary>
    private static void Compare(Case c, string[] names, Func<Var[], Var> loss)
    {
        var ps = names.Select(n => new Var(c.Tensor(n), requiresGrad: true, name: n)).ToArray();
        var value = loss(ps);
        Assert.Equal(c.Loss, value.Item(), Tolerance * (1 + Math.Abs(c.Loss)));

        var grads = Autograd.Grad([value], ps, createGraph: true);
        for (int i = 0; i < names.Length; i++)
            Close(c.Grad(names[i]), grads[i].Value, $"{c.Name} grad {names[i]}");

        Var? dot = null;
        for (int i = 0; i < names.Length; i++)
        {
            var term = F.Sum(grads[i] * new Var(c.V(names[i])));
            dot = dot is null ? term : dot + term;
        }
        var hv = Autograd.Grad([dot!], ps, allowUnused: true);
        for (int i = 0; i < names.Length; i++)
            Close(c.Hvp(names[i]), hv[i].Value, $"{c.Name} hvp {names[i]}");
    }

    private static void Close(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= Tolerance * (1 + Math.Abs(e[i])), $"{what}[{i}]: torch {e[i]:R}, ours {a[i]:R}");
    }

    [Fact]
    public void MlpWithEluLayerNormMishAndMse()
    {
        var c = Load("mlp_elu_layernorm_mish_mse");
        var x = new Var(c.Tensor("x"));
        var target = new Var(c.Tensor("target"));
        Compare(c, ["w1", "b1", "ln_w", "ln_b", "w2", "b2", "w3", "b3"], p =>
        {
            var h = F.Elu(F.LayerNorm(F.Linear(x, p[0], p[1]), p[2], p[3], 1e-5));
            h = F.Mish(F.Linear(h, p[4], p[5]));
            return F.Mse(F.Linear(h, p[6], p[7]), target);
        });
    }

    [Fact]
    public void SoftmaxCrossEntropy()
    {
        var c = Load("softmax_cross_entropy");
        using var targets = c.Tensor("targets", DType.Int32);
        Compare(c, ["logits"], p => F.CrossEntropy(p[0], targets));
        Compare(c, ["logits"], p => F.CrossEntropyComposite(p[0], targets));
    }

    [Fact]
    public void SmallConvNet()
    {
        var c = Load("small_conv_net");
        var x = new Var(c.Tensor("x"));
        Compare(c, ["k1", "c1", "k2", "wl"], p =>
        {
            var h = F.Tanh(F.Conv2d(x, p[0], p[1], padding: (1, 1)));
            h = F.MaxPool2d(h, (2, 2));
            h = F.Reshape(F.AvgPool2d(h, (1, 3)), 2, 3, 3);
            h = F.Silu(F.Conv1d(h, p[2]));
            var y = F.Linear(F.Reshape(h, 2, 4), p[3]);
            return F.Sum(F.Square(y)) + F.Sum(F.LogSoftmax(y, 1));
        });
    }

    [Fact]
    public void CholeskySolve()
    {
        var c = Load("cholesky_solve");
        var w = new Var(c.Tensor("w"));
        Compare(c, ["a", "b"], p =>
        {
            var l = F.Cholesky(F.Symmetrize(p[0]));
            var sol = F.CholeskySolve(l, p[1]);
            return F.Sum(sol * w) + F.Sum(F.Sin(sol));
        });
    }
}
