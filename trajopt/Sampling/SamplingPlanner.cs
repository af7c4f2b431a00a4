using DiffTori.Engine;

namespace DiffTori.TrajOpt.Sampling;

/// <summary>How elite action sequences are averaged.</summary>
public enum SamplingKind
{
    /// <summary>Model predictive path integral: elites weighted by exp(temperature · (value − best)).</summary>
    Mppi,
    /// <summary>Cross-entropy method: elites weighted equally.</summary>
    Cem,
}

/// <summary>TD-MPC's planner settings (its published defaults).</summary>
public sealed record SamplingPlannerOptions
{
    public SamplingKind Kind { get; init; } = SamplingKind.Mppi;
    public int Iterations { get; init; } = 6;
    public int Samples { get; init; } = 512;
    public int Elites { get; init; } = 64;
    public double Temperature { get; init; } = 0.5;
    public double Momentum { get; init; } = 0.1;
    public double MaxStd { get; init; } = 2;
    /// <summary>Standard deviation of the first iteration's Gaussian.</summary>
    public double InitialStd { get; init; } = 2;
}

/// <summary>
/// Scores candidate action sequences. actions is time-major [horizon, count, actionDim] (row-major,
/// flat); write one value (higher is better) per candidate into values[0..count).
/// </summary>
public delegate void SequenceEvaluator(float[] actions, int horizon, int count, double[] values);

/// <summary>
/// TD-MPC's sampling planner over action sequences in [-1, 1]: each iteration samples sequences from a
/// per-step Gaussian (plus fixed candidates such as policy rollouts), scores them with the model, keeps
/// the best (elites) and refits mean and std to them (MPPI weights or CEM's equal weights), with
/// momentum on the mean. The mean is warm-started from the previous call shifted by one step. The
/// action returned is the first step of one elite drawn by its weight, plus exploration noise.
/// </summary>
public sealed class SamplingPlanner
{
    private readonly double[] _previousMean;
    private bool _hasPrevious;

    public SamplingPlanner(int maxHorizon, int actionDim, SamplingPlannerOptions options)
    {
        if (maxHorizon < 1 || actionDim < 1)
            throw new ArgumentException($"SamplingPlanner: horizon ({maxHorizon}) and action dimension ({actionDim}) must be ≥ 1");
        if (options.Elites < 1 || options.Elites > options.Samples || options.Iterations < 1)
            throw new ArgumentException($"SamplingPlanner: need 1 ≤ elites ({options.Elites}) ≤ samples ({options.Samples}) and iterations ≥ 1 ({options.Iterations})");
        MaxHorizon = maxHorizon;
        ActionDim = actionDim;
        Options = options;
        _previousMean = new double[maxHorizon * actionDim];
    }

    public int MaxHorizon { get; }
    public int ActionDim { get; }
    public SamplingPlannerOptions Options { get; }

    /// <summary>Forget the warm start (call at the start of an episode).</summary>
    public void Reset() => _hasPrevious = false;

    /// <summary>
    /// Plan and return the action for the current step. fixedCandidates: extra sequences [horizon,
    /// fixedCount, actionDim] scored every iteration (TD-MPC's π rollouts); minStd: the exploration
    /// schedule's floor on the std; explore: add std·N(0, 1) noise to the returned action.
    /// </summary>
    public double[] Plan(int horizon, SequenceEvaluator evaluate, float[]? fixedCandidates, int fixedCount, double minStd, bool explore, RandomGenerator rng)
    {
        if (horizon < 1 || horizon > MaxHorizon) throw new ArgumentOutOfRangeException(nameof(horizon), $"SamplingPlanner.Plan: horizon {horizon} outside [1, {MaxHorizon}]");
        int a = ActionDim, n = Options.Samples, total = n + fixedCount, k = Options.Elites;
        if (fixedCount > 0 && (fixedCandidates is null || fixedCandidates.Length != horizon * fixedCount * a))
            throw new ArgumentException($"SamplingPlanner.Plan: fixed candidates must have {horizon}·{fixedCount}·{a} values");

        var mean = new double[horizon * a];
        var std = new double[horizon * a];
        Array.Fill(std, Options.InitialStd);
        if (_hasPrevious)
            for (int t = 0; t + 1 < horizon; t++)
                for (int j = 0; j < a; j++) mean[t * a + j] = _previousMean[(t + 1) * a + j];

        var actions = new float[horizon * total * a];
        var values = new double[total];
        var order = new int[total];
        var keys = new double[total];
        var eliteWeights = new double[k];
        var eliteIndex = new int[k];
        for (int iteration = 0; iteration < Options.Iterations; iteration++)
        {
            for (int t = 0; t < horizon; t++)
            {
                for (int s = 0; s < n; s++)
                    for (int j = 0; j < a; j++)
                    {
                        double x = mean[t * a + j] + std[t * a + j] * rng.NextNormal();
                        actions[(t * total + s) * a + j] = (float)Math.Clamp(x, -1, 1);
                    }
                if (fixedCount > 0)
                    Array.Copy(fixedCandidates!, t * fixedCount * a, actions, (t * total + n) * a, fixedCount * a);
            }
            evaluate(actions, horizon, total, values);

            // Elites: the k best values (NaN counts as the worst, as TD-MPC's nan_to_num(0) keeps it out of the top).
            for (int i = 0; i < total; i++) { order[i] = i; keys[i] = double.IsNaN(values[i]) ? double.NegativeInfinity : -values[i]; }
            Array.Sort(keys, order);
            double best = -keys[0];
            double weightSum = 0;
            for (int e = 0; e < k; e++)
            {
                eliteIndex[e] = order[e];
                double v = -keys[e];
                eliteWeights[e] = Options.Kind == SamplingKind.Mppi ? Math.Exp(Options.Temperature * (v - best)) : 1.0;
                if (double.IsNaN(eliteWeights[e])) eliteWeights[e] = 0;
                weightSum += eliteWeights[e];
            }
            if (!(weightSum > 0)) { Array.Fill(eliteWeights, 1.0); weightSum = k; }
            for (int e = 0; e < k; e++) eliteWeights[e] /= weightSum;

            for (int t = 0; t < horizon; t++)
                for (int j = 0; j < a; j++)
                {
                    double m = 0;
                    for (int e = 0; e < k; e++) m += eliteWeights[e] * actions[(t * total + eliteIndex[e]) * a + j];
                    double v = 0;
                    for (int e = 0; e < k; e++) { double d = actions[(t * total + eliteIndex[e]) * a + j] - m; v += eliteWeights[e] * d * d; }
                    int i = t * a + j;
                    mean[i] = Options.Momentum * mean[i] + (1 - Options.Momentum) * m;
                    std[i] = Math.Clamp(Math.Sqrt(v), minStd, Options.MaxStd);
                }
        }

        // One elite sequence drawn by its weight; its first action is executed.
        double u = rng.NextDouble(), cumulative = 0;
        int chosen = eliteIndex[k - 1];
        for (int e = 0; e < k; e++)
        {
            cumulative += eliteWeights[e];
            if (u < cumulative) { chosen = eliteIndex[e]; break; }
        }
        Array.Clear(_previousMean);
        Array.Copy(mean, _previousMean, mean.Length);
        _hasPrevious = true;

        var result = new double[a];
        for (int j = 0; j < a; j++)
        {
            double x = actions[chosen * a + j];
            if (explore) x += std[j] * rng.NextNormal();
            result[j] = Math.Clamp(x, -1, 1);
        }
        return result;
    }
}
