using DiffTori.Autodiff;
using DiffTori.Autodiff.Nn;
using DiffTori.Engine;
using DiffTori.Rl.Agents;
using DiffTori.Rl.Replay;

namespace DiffTori.Rl.Tests;

public class TdMpcLossTests
{
    internal static Told RandomTold(ulong seed)
    {
        var model = new Told(3, 2, latentDim: 4, hiddenDim: 5, encoderDim: 6, new RandomGenerator(seed));
        var rng = new RandomGenerator(seed + 100);
        foreach (var p in model.Parameters()) Ops.FillNormal(p.Value, rng, 0, 0.4); // no zero heads: every term matters
        return model;
    }

    internal static ReplayBatch HandBatch(int window, int batchSize)
    {
        var batch = new ReplayBatch(window, batchSize, 3, 2);
        var rng = new RandomGenerator(77);
        for (int i = 0; i < batch.Observations.Length; i++) batch.Observations[i] = (float)rng.NextNormal();
        for (int i = 0; i < batch.Actions.Length; i++) batch.Actions[i] = (float)(2 * rng.NextDouble() - 1);
        for (int i = 0; i < batch.Rewards.Length; i++) batch.Rewards[i] = (float)rng.NextDouble();
        for (int i = 0; i < batchSize; i++) batch.Weights[i] = 0.25 + 0.5 * i;
        return batch;
    }

    private static double[] Row(float[] data, int t, int i, int batchSize, int dim) =>
        data.AsSpan((t * batchSize + i) * dim, dim).ToArray().Select(x => (double)x).ToArray();

    private static double[] Eval(Sequential net, double[] x)
    {
        using var _ = Autograd.NoGrad();
        return net.Forward(F.Constant(Tensor.FromDoubles(x, new Shape(1, x.Length)))).Value.ToDoubleArray();
    }

    [Fact]
    public void ModelLoss_MatchesDirectComputation()
    {
        var model = RandomTold(1);
        var target = RandomTold(2);
        var cfg = new RlConfig { Rho = 0.5, Discount = 0.9 };
        const int window = 3, b = 4;
        var batch = HandBatch(window, b);
        var result = TdMpcLoss.Compute(model, target, batch, cfg, policyNoiseStd: 0, new RandomGenerator(0));

        // Direct: one sample at a time, every network called on its own, the sums written out.
        double totalWeighted = 0, consSum = 0, rewSum = 0, valSum = 0;
        var priorities = new double[b];
        for (int i = 0; i < b; i++)
        {
            var z = Eval(model.Encoder, Row(batch.Observations, 0, i, b, 3));
            double cons = 0, rew = 0, val = 0;
            for (int t = 0; t < window; t++)
            {
                var a = Row(batch.Actions, t, i, b, 2);
                var za = z.Concat(a).ToArray();
                double q1 = Eval(model.Q1, za)[0], q2 = Eval(model.Q2, za)[0];
                var zNext = Eval(model.Dynamics, za);
                double rHat = Eval(model.Reward, za)[0];
                var nz = Eval(target.Encoder, Row(batch.Observations, t + 1, i, b, 3));
                var piA = Eval(model.Pi, nz).Select(Math.Tanh).ToArray();
                var nza = nz.Concat(piA).ToArray();
                double r = batch.Rewards[t * b + i];
                double td = r + 0.9 * Math.Min(Eval(target.Q1, nza)[0], Eval(target.Q2, nza)[0]);
                double rho = Math.Pow(0.5, t);
                cons += rho * zNext.Zip(nz, (x, y) => (x - y) * (x - y)).Average();
                rew += rho * (rHat - r) * (rHat - r);
                val += rho * ((q1 - td) * (q1 - td) + (q2 - td) * (q2 - td));
                priorities[i] += rho * (Math.Abs(q1 - td) + Math.Abs(q2 - td));
                z = zNext;
            }
            consSum += cons; rewSum += rew; valSum += val;
            totalWeighted += batch.Weights[i] * (2 * cons + 0.5 * rew + 0.1 * val);
        }
        Assert.Equal(consSum / b, result.Consistency, 4);
        Assert.Equal(rewSum / b, result.Reward, 4);
        Assert.Equal(valSum / b, result.Value, 4);
        Assert.Equal(totalWeighted / b, result.Total, 4);
        for (int i = 0; i < b; i++) Assert.Equal(priorities[i], result.Priorities[i], 4);
    }

    [Fact]
    public void PolicyLoss_MatchesDirectComputation_AndOnlyNeedsPi()
    {
        var model = RandomTold(3);
        var cfg = new RlConfig { Rho = 0.5 };
        var rng = new RandomGenerator(9);
        var latents = new Var[3];
        var rows = new double[3][][];
        for (int t = 0; t < 3; t++)
        {
            rows[t] = new double[2][];
            for (int i = 0; i < 2; i++) rows[t][i] = [rng.NextNormal(), rng.NextNormal(), rng.NextNormal(), rng.NextNormal()];
            latents[t] = F.Constant(Tensor.FromDoubles(rows[t].SelectMany(x => x).ToArray(), new Shape(2, 4)));
        }
        var loss = TdMpcLoss.PolicyLoss(model, latents, cfg, 0, rng).Item();
        double direct = 0;
        for (int t = 0; t < 3; t++)
        {
            double mean = 0;
            foreach (var z in rows[t])
            {
                var a = Eval(model.Pi, z).Select(Math.Tanh).ToArray();
                var za = z.Concat(a).ToArray();
                mean += Math.Min(Eval(model.Q1, za)[0], Eval(model.Q2, za)[0]) / 2;
            }
            direct -= Math.Pow(0.5, t) * mean;
        }
        Assert.Equal(direct, loss, 4);
    }

    [Fact]
    public void Schedules_AreTdMpcsLinearOnes()
    {
        var cfg = new RlConfig { Horizon = 5, HorizonScheduleSteps = 25_000 };
        var agent = new TdMpcAgent(3, 1, new RlConfig { Horizon = 5, HiddenDim = 8, EncoderDim = 8, LatentDim = 4 });
        Assert.Equal(1, agent.PlanningHorizon(0));
        Assert.Equal(3, agent.PlanningHorizon(12_500));
        Assert.Equal(5, agent.PlanningHorizon(100_000));
        Assert.Equal(0.5, agent.ExplorationStd(0), 12);
        Assert.Equal(0.275, agent.ExplorationStd(12_500), 12);
        Assert.Equal(0.05, agent.ExplorationStd(50_000), 12);
        Assert.Equal(cfg.Horizon, agent.ReplayWindow);
    }
}
