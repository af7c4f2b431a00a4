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

    /// <summary>
    /// The layers in order; a Linear followed by an ELU runs as one fused op (<see cref="F.LinearElu"/>: the bias
    /// and activation in the product's epilogue, one node instead of two), with the same values and gradients.
    /// </summary>
    public override Var Forward(Var input)
    {
        var x = input;
        for (int i = 0; i < _layers.Count; i++)
        {
            if (_layers[i] is Linear linear && i + 1 < _layers.Count && _layers[i + 1] is Elu elu)
            {
                x = linear.ForwardElu(x, elu.Alpha);
                i++;
                continue;
            }
            x = _layers[i].Forward(x);
        }
        return x;
    }
}
