using DiffTori.Engine;

namespace DiffTori.Autodiff.Optim;

/// <summary>
/// Stochastic gradient descent with optional heavy-ball or Nesterov momentum and L2 weight decay,
/// the same update as torch.optim.SGD (see <see cref="OptimizerKernels.Sgd{T}"/>).
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor?[] _momentum;

    public Sgd(IEnumerable<Var> parameters, double learningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false) : base(parameters, learningRate, "SGD")
    {
        RequireNonNegative(momentum, "momentum");
        RequireNonNegative(dampening, "dampening");
        RequireNonNegative(weightDecay, "weight decay");
        if (nesterov && (momentum == 0 || dampening != 0))
            throw new ArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening 0");
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentum = new Tensor?[Parameters.Count];
        if (momentum != 0)
            for (int i = 0; i < _momentum.Length; i++) _momentum[i] = AddState(i, "momentum_buffer");
    }

    public double Momentum { get; }
    public double Dampening { get; }
    public double WeightDecay { get; }
    public bool Nesterov { get; }

    protected override void Update(int index, Tensor p, Tensor g, double lr, long t, bool fused)
    {
        var buf = _momentum[index];
        bool first = t == 1;
        if (fused)
        {
            if (p.DType == DType.Float32)
                OptimizerKernels.Sgd(p.AsSpan<float>(), g.AsSpan<float>(), buf is null ? default : buf.AsSpan<float>(), lr, Momentum, Dampening, WeightDecay, Nesterov, first);
            else
                OptimizerKernels.Sgd(p.AsSpan<double>(), g.AsSpan<double>(), buf is null ? default : buf.AsSpan<double>(), lr, Momentum, Dampening, WeightDecay, Nesterov, first);
            return;
        }
        // d = g + wd·p in the scratch tensor, then the same steps as the fused loop, op by op.
        var d = Scratch(index);
        d.CopyFrom(g);
        if (WeightDecay != 0) Ops.AddInPlace(d, p, WeightDecay);
        if (buf is not null)
        {
            if (first) buf.CopyFrom(d);
            else
            {
                Ops.Unary(UnaryOp.Affine, buf, buf, Momentum, 0);
                Ops.AddInPlace(buf, d, 1 - Dampening);
            }
            if (Nesterov) Ops.AddInPlace(d, buf, Momentum);
            else d.CopyFrom(buf);
        }
        Ops.AddInPlace(p, d, -lr);
    }
}
