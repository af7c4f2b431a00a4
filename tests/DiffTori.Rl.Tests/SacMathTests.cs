using DiffTori.Autodiff;
using DiffTori.Engine;
using DiffTori.Rl.Agents;

namespace DiffTori.Rl.Tests;

public class SacMathTests
{
    private static Var V(double[] x, params int[] shape) => F.Constant(Tensor.FromDoubles(x, new Shape(shape), DType.Float64));

    [Fact]
    public void TanhGaussianLogProb_MatchesDirectFormula()
    {
        double[] mean = [0.3, -1.2, 2.0, 0.1], logStd = [-0.5, 0.2, -1.0, 0.7], eps = [0.4, -1.1, 0.05, 2.2];
        var (action, logProb) = SacMath.Sample(V(mean, 2, 2), V(logStd, 2, 2), V(eps, 2, 2));
        var a = action.Value.ToDoubleArray();
        var lp = logProb.Value.ToDoubleArray();
        for (int row = 0; row < 2; row++)
        {
            double direct = 0;
            for (int j = 0; j < 2; j++)
            {
                int k = row * 2 + j;
                double std = Math.Exp(logStd[k]), u = mean[k] + std * eps[k];
                Assert.Equal(Math.Tanh(u), a[k], 12);
                double gauss = -0.5 * Math.Pow((u - mean[k]) / std, 2) - Math.Log(std) - 0.5 * Math.Log(2 * Math.PI);
                direct += gauss - Math.Log(1 - Math.Tanh(u) * Math.Tanh(u));
            }
            Assert.Equal(direct, lp[row], 9);
        }
    }

    [Fact]
    public void CriticTargetAndLosses_MatchDirectComputation()
    {
        double[] r = [1, 0.5], nd = [1, 0], tq1 = [2, 3], tq2 = [2.5, 1], lp = [-0.7, 0.2], q1 = [1.5, 0.1], q2 = [1.2, 0.4];
        var y = SacMath.CriticTarget(V(r, 2, 1), V(nd, 2, 1), V(tq1, 2, 1), V(tq2, 2, 1), V(lp, 2, 1), 0.99, 0.2).Value.ToDoubleArray();
        double[] yDirect = [1 + 0.99 * (2 - 0.2 * -0.7), 0.5];
        for (int i = 0; i < 2; i++) Assert.Equal(yDirect[i], y[i], 12);
        double critic = SacMath.CriticLoss(V(q1, 2, 1), V(q2, 2, 1), V(yDirect, 2, 1)).Item();
        double criticDirect = 0;
        for (int i = 0; i < 2; i++) criticDirect += (Math.Pow(q1[i] - yDirect[i], 2) + Math.Pow(q2[i] - yDirect[i], 2)) / 2;
        Assert.Equal(criticDirect, critic, 12);
        double actor = SacMath.ActorLoss(V(lp, 2, 1), V(q1, 2, 1), V(q2, 2, 1), 0.2).Item();
        Assert.Equal(((0.2 * -0.7 - 1.2) + (0.2 * 0.2 - 0.1)) / 2, actor, 12);
        var logAlpha = new Var(Tensor.Scalar(Math.Log(0.2), DType.Float64), requiresGrad: true);
        var alphaLoss = SacMath.AlphaLoss(logAlpha, V(lp, 2, 1), targetEntropy: -2);
        Assert.Equal(-Math.Log(0.2) * ((-0.7 - 2) + (0.2 - 2)) / 2, alphaLoss.Item(), 12);
        alphaLoss.Backward();
        Assert.Equal(-((-0.7 - 2) + (0.2 - 2)) / 2, logAlpha.Grad!.Item(), 12);
    }

    [Fact]
    public void Head_SquashesLogStdIntoItsRange()
    {
        var (mean, logStd) = SacMath.Head(V([0.5, 0, -100, 100], 1, 4), 2);
        Assert.Equal(0.5, mean.Value.ToDoubleArray()[0], 12);
        var ls = logStd.Value.ToDoubleArray();
        Assert.Equal(SacMath.LogStdMin, ls[0], 9);
        Assert.Equal(SacMath.LogStdMax, ls[1], 9);
    }
}
