namespace DiffTori.Envs;

/// <summary>The one place actions are validated, so every task reports bad input the same way.</summary>
public static class ActionCheck
{
    /// <summary>Throws ArgumentException naming the task and the offending length, index or value.</summary>
    public static void Validate(string task, ReadOnlySpan<double> action, int expectedLength)
    {
        if (action.Length != expectedLength)
            throw new ArgumentException(
                $"{task}: action has length {action.Length}, expected {expectedLength}.", nameof(action));
        for (int i = 0; i < action.Length; i++)
        {
            if (!double.IsFinite(action[i]))
                throw new ArgumentException(
                    $"{task}: action[{i}] = {action[i]} is not finite.", nameof(action));
        }
    }

    /// <summary>Maps an agent action in [-1, 1] (clamped) to [low, high].</summary>
    public static double ToRange(double action, double low, double high)
    {
        double a = Math.Clamp(action, -1.0, 1.0);
        return low + (a + 1.0) * 0.5 * (high - low);
    }
}
