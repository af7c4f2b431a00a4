namespace DiffTori.Autodiff.Optim;

/// <summary>
/// A learning rate as a function of the step: step k (0-based count of steps already taken) uses At(k).
/// Give one to <see cref="Optimizer.Schedule"/> and the optimizer asks it before every step.
/// </summary>
public abstract class LrSchedule
{
    public abstract double At(long step);
}

/// <summary>The same learning rate at every step.</summary>
public sealed class ConstantLr(double learningRate) : LrSchedule
{
    public double LearningRate { get; } = learningRate;
    public override double At(long step) => LearningRate;
}

/// <summary>From start at step 0 to end at step <c>steps</c> in a straight line, then end for ever.</summary>
public sealed class LinearLr : LrSchedule
{
    public LinearLr(double start, double end, long steps)
    {
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "LinearLr: steps must be positive");
        Start = start;
        End = end;
        Steps = steps;
    }

    public double Start { get; }
    public double End { get; }
    public long Steps { get; }

    public override double At(long step)
    {
        double progress = Math.Clamp((double)step / Steps, 0.0, 1.0);
        return Start + (End - Start) * progress;
    }
}

/// <summary>
/// Linear warm-up from 0 to peak over warmupSteps (step·peak/warmup), then a half cosine from peak down
/// to final at totalSteps, then final (the shape of transformers' get_cosine_schedule_with_warmup).
/// </summary>
public sealed class CosineLr : LrSchedule
{
    public CosineLr(double peak, long warmupSteps, long totalSteps, double final = 0)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "CosineLr: warmupSteps must be ≥ 0");
        if (totalSteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"CosineLr: totalSteps must exceed warmupSteps ({warmupSteps})");
        Peak = peak;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
        Final = final;
    }

    public double Peak { get; }
    public long WarmupSteps { get; }
    public long TotalSteps { get; }
    public double Final { get; }

    public override double At(long step)
    {
        if (step < WarmupSteps) return Peak * step / WarmupSteps;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps));
        return Final + (Peak - Final) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
