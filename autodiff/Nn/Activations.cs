namespace DiffTori.Autodiff.Nn;

// Activation functions as layers (no parameters), for Sequential and the MLP builder.

public sealed class Relu : Layer
{
    public override Var Forward(Var input) => F.Relu(input);
}

/// <summary>x for x &gt; 0, alpha·(eˣ − 1) otherwise (TD-MPC's activation).</summary>
public sealed class Elu(double alpha = 1.0) : Layer
{
    public double Alpha { get; } = alpha;
    public override Var Forward(Var input) => F.Elu(input, Alpha);
}

/// <summary>x·tanh(softplus(x)) (TD-MPC2's activation).</summary>
public sealed class Mish : Layer
{
    public override Var Forward(Var input) => F.Mish(input);
}

/// <summary>x·sigmoid(x), also called swish.</summary>
public sealed class Silu : Layer
{
    public override Var Forward(Var input) => F.Silu(input);
}

public sealed class Tanh : Layer
{
    public override Var Forward(Var input) => F.Tanh(input);
}

public sealed class Sigmoid : Layer
{
    public override Var Forward(Var input) => F.Sigmoid(input);
}

/// <summary>log(1 + e^(beta·x)) / beta, and x itself where beta·x &gt; threshold (torch's numerically safe form).</summary>
public sealed class Softplus(double beta = 1.0, double threshold = 20.0) : Layer
{
    public double Beta { get; } = beta;
    public double Threshold { get; } = threshold;
    public override Var Forward(Var input) => F.Softplus(input, Beta, Threshold);
}
