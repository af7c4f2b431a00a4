using DiffTori.Autodiff.Nn;

namespace DiffTori.Autodiff.Optim;

/// <summary>
/// An averaged copy of a model whose decay grows with training (diffusion policy's EMAModel, after
/// Karras et al.): at update k, decay = 1 − (1 + k/invGamma)^(−power), clamped to [minDecay, maxDecay],
/// with k counted from updateAfterStep (decay 0 before it: the average starts as a plain copy).
/// The averaged module is built by the caller with the same architecture as the trained one.
/// </summary>
public sealed class EmaModel
{
    public EmaModel(Module averaged, double power = 0.75, double invGamma = 1.0, double minDecay = 0.0, double maxDecay = 0.9999, long updateAfterStep = 0)
    {
        if (!(power > 0) || !(invGamma > 0))
            throw new ArgumentOutOfRangeException(nameof(power), $"EmaModel: power ({power}) and invGamma ({invGamma}) must be positive");
        if (!(minDecay >= 0 && minDecay <= maxDecay && maxDecay <= 1))
            throw new ArgumentOutOfRangeException(nameof(minDecay), $"EmaModel: need 0 ≤ minDecay ({minDecay}) ≤ maxDecay ({maxDecay}) ≤ 1");
        Averaged = averaged;
        Power = power;
        InvGamma = invGamma;
        MinDecay = minDecay;
        MaxDecay = maxDecay;
        UpdateAfterStep = updateAfterStep;
    }

    public Module Averaged { get; }
    public double Power { get; }
    public double InvGamma { get; }
    public double MinDecay { get; }
    public double MaxDecay { get; }
    public long UpdateAfterStep { get; }

    /// <summary>Number of <see cref="Update"/> calls so far (save it with a checkpoint's metadata to resume).</summary>
    public long Updates { get; set; }

    /// <summary>The decay used by update number updates (0-based).</summary>
    public double Decay(long updates)
    {
        long k = updates - UpdateAfterStep - 1;
        if (k <= 0) return 0.0;
        double value = 1 - Math.Pow(1 + k / InvGamma, -Power);
        return Math.Clamp(value, MinDecay, MaxDecay);
    }

    /// <summary>averaged ← decay·averaged + (1 − decay)·source, matching parameters by name.</summary>
    public void Update(Module source)
    {
        Ema.SoftUpdate(Averaged, source, 1 - Decay(Updates));
        Updates++;
    }
}
