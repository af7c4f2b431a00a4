namespace DiffTori.Autodiff.Nn;

/// <summary>Layers applied one after another; the i-th is the submodule named "i" (as torch.nn.Sequential).</summary>
public sealed class Sequential : Layer
{
    private readonly List<Layer> _layers = [];

    public Sequential(params IEnumerable<Layer> layers)
    {
        foreach (var layer in layers) Add(layer);
    }

    public int Count => _layers.Count;
    public Layer this[int index] => _layers[index];
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Append a layer (named by its position); returns this, for chaining.</summary>
    public Sequential Add(Layer layer)
    {
        AddModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    public override Var Forward(Var input)
    {
        var x = input;
        for (int i = 0; i < _layers.Count; i++) x = _layers[i].Forward(x);
        return x;
    }
}
