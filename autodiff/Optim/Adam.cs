using DiffTori.Engine;

namespace DiffTori.Autodiff.Optim;

/// <summary>
/// Adam (Kingma and Ba, 2015) with bias correction, as torch.optim.Adam; weightDecay adds an L2 term
/// to the gradient. See <see cref="AdamW"/> for decoupled weight decay.
/// </summary>
public class Adam : Optimizer
{
    private readonly Tensor[] _expAvg, _expAvgSq;

    public Adam(IEnumerable<Var> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0) : this(parameters, learningRate, beta1, beta2, eps, weightDecay, "Adam") { }

    private protected Adam(IEnumerable<Var> parameters, double learningRate, double beta1, double beta2, double eps,
        double weightDecay, string kind) : base(parameters, learningRate, kind)
    {
        RequireBeta(beta1, "beta1");
        RequireBeta(beta2, "beta2");
        RequireNonNegative(eps, "eps");
        RequireNonNegative(weightDecay, "weight decay");
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        _expAvg = new Tensor[Parameters.Count];
        _expAvgSq = new Tensor[Parameters.Count];
        for (int i = 0; i < _expAvg.Length; i++)
        {
            _expAvg[i] = AddState(i, "exp_avg");
            _expAvgSq[i] = AddState(i, "exp_avg_sq");
        }
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    /// <summary>True for AdamW: decay shrinks the parameter directly instead of entering the gradient.</summary>
    protected virtual bool Decoupled => false;

    protected sealed override void Update(int index, Tensor p, Tensor g, double lr, long t, bool fused)
    {
        double l2 = Decoupled ? 0 : WeightDecay, decoupled = Decoupled ? WeightDecay : 0;
        Tensor m = _expAvg[index], v = _expAvgSq[index];
        if (fused)
        {
            if (p.DType == DType.Float32)
                OptimizerKernels.Adam(p.AsSpan<float>(), g.AsSpan<float>(), m.AsSpan<float>(), v.AsSpan<float>(), lr, Beta1, Beta2, Eps, l2, decoupled, t);
            else
                OptimizerKernels.Adam(p.AsSpan<double>(), g.AsSpan<double>(), m.AsSpan<double>(), v.AsSpan<double>(), lr, Beta1, Beta2, Eps, l2, decoupled, t);
            return;
        }
        // The same formula op by op, with one scratch tensor s.
        double bc1 = 1 - Math.Pow(Beta1, t), bc2 = 1 - Math.Pow(Beta2, t);
        var s = Scratch(index);
        if (decoupled != 0) Ops.Unary(UnaryOp.Affine, p, p, 1 - lr * decoupled, 0);
        s.CopyFrom(g);
        if (l2 != 0) Ops.AddInPlace(s, p, l2);                        // s = d
        Ops.Unary(UnaryOp.Affine, m, m, Beta1, 0);
        Ops.AddInPlace(m, s, 1 - Beta1);                               // m = β1·m + (1−β1)·d
        Ops.Binary(BinaryOp.Mul, s, s, s);
        Ops.Unary(UnaryOp.Affine, v, v, Beta2, 0);
        Ops.AddInPlace(v, s, 1 - Beta2);                               // v = β2·v + (1−β2)·d²
        Ops.Unary(UnaryOp.Sqrt, v, s);
        Ops.Unary(UnaryOp.Affine, s, s, 1 / Math.Sqrt(bc2), Eps);      // s = √v/√bc2 + ε
        Ops.Binary(BinaryOp.Div, m, s, s);
        Ops.AddInPlace(p, s, -lr / bc1);
    }
}

/// <summary>AdamW (Loshchilov and Hutter, 2019): p ·= 1 − lr·weightDecay before the Adam step, as torch.optim.AdamW.</summary>
public sealed class AdamW(IEnumerable<Var> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
    double eps = 1e-8, double weightDecay = 0.01) : Adam(parameters, learningRate, beta1, beta2, eps, weightDecay, "AdamW")
{
    protected override bool Decoupled => true;
}
