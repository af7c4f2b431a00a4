using DiffTori.Engine;

namespace DiffTori.Autodiff.Checkpoints;

/// <summary>Constants and dtype codes of the safetensors format shared by the writer and the reader.</summary>
internal static class SafeTensorsFormat
{
    public const string MetadataKey = "__metadata__";

    /// <summary>The reference implementation refuses headers above 100 MB; so do we (a corrupt length would otherwise allocate gigabytes).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public static string Code(DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Int32 => "I32",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "safetensors: no code for this dtype"),
    };

    public static bool TryParse(string code, out DType dtype)
    {
        switch (code)
        {
            case "F32": dtype = DType.Float32; return true;
            case "F64": dtype = DType.Float64; return true;
            case "I32": dtype = DType.Int32; return true;
            default: dtype = default; return false;
        }
    }
}
