using DiffTori.Engine;

namespace DiffTori.Autodiff;

public static partial class F
{
    /// <summary>Softmax along axis (one fused kernel); d = y·(g − Σ g·y).</summary>
    public static Var Softmax(Var x, int axis = -1)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.Softmax");
        var y = Record.Op("softmax", Ops.Softmax(x.Value, a), x, static (n, g) =>
        {
            var gy = g * n.Out;
            return gy - n.Out * Sum(gy, n.I0, keepDims: true);
        });
        y.Node?.I0 = a;
        return y;
    }

    /// <summary>Log-softmax along axis (fused, stable); d = g − softmax·Σ g.</summary>
    public static Var LogSoftmax(Var x, int axis = -1)
    {
        int a = x.Shape.NormalizeAxis(axis, "F.LogSoftmax");
        var y = Record.Op("log_softmax", Ops.LogSoftmax(x.Value, a), x,
            static (n, g) => g - Exp(n.Out) * Sum(g, n.I0, keepDims: true));
        y.Node?.I0 = a;
        return y;
    }
}
