namespace DiffTori.Autodiff.Checkpoints;

/// <summary>
/// A checkpoint could not be written or read: a corrupt or truncated file, or contents that do not
/// match what the caller expects (missing, unexpected, mis-shaped or wrong-dtype tensors).
/// The message always names the file and, where one is involved, the tensor.
/// </summary>
public sealed class CheckpointException : IOException
{
    public CheckpointException(string message) : base(message) { }
    public CheckpointException(string message, Exception inner) : base(message, inner) { }
}
