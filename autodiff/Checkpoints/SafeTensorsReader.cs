using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Checkpoints;

/// <summary>
/// The tensors and metadata of one safetensors file, all loaded into memory. Dispose returns the
/// tensors' buffers unless they were taken with <see cref="Take"/>.
/// </summary>
public sealed class SafeTensorsContent : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors;

    internal SafeTensorsContent(string source, List<string> names, Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata)
    {
        Source = source;
        Names = names;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file (or description) the content came from, for error messages.</summary>
    public string Source { get; }

    /// <summary>Tensor names in the order their data appears in the file.</summary>
    public IReadOnlyList<string> Names { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public Tensor this[string name] => _tensors.TryGetValue(name, out var t)
        ? t
        : throw new CheckpointException($"safetensors: '{Source}' has no tensor named '{name}'");

    /// <summary>Remove a tensor from the content and hand its ownership to the caller.</summary>
    public Tensor Take(string name)
    {
        var t = this[name];
        _tensors.Remove(name);
        return t;
    }

    public void Dispose()
    {
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
    }
}

/// <summary>
/// Reads and validates the safetensors format (see <see cref="SafeTensorsWriter"/>). Every check
/// happens before any tensor is returned: a bad header length, invalid JSON, an unknown dtype,
/// a shape that disagrees with the byte range, offsets out of range, overlapping or leaving holes,
/// or a truncated file each raise a <see cref="CheckpointException"/> naming the file and the tensor.
/// </summary>
public static class SafeTensorsReader
{
    public static SafeTensorsContent Load(string path, Device? device = null)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"safetensors: cannot read '{path}': {e.Message}", e);
        }
        return Parse(bytes, path, device);
    }

    /// <summary>Parse a whole file's bytes; source names the file in error messages.</summary>
    public static SafeTensorsContent Parse(ReadOnlySpan<byte> file, string source, Device? device = null)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors: reading needs a little-endian host");
        if (file.Length < 8)
            throw Corrupt(source, $"the file has {file.Length} bytes, fewer than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > SafeTensorsFormat.MaxHeaderBytes)
            throw Corrupt(source, $"header length {headerLength} exceeds the {SafeTensorsFormat.MaxHeaderBytes}-byte limit");
        if (headerLength > (ulong)(file.Length - 8))
            throw Corrupt(source, $"header length {headerLength} runs past the end of the file ({file.Length} bytes): truncated");
        if (headerLength < 2)
            throw Corrupt(source, $"header length {headerLength} is too small for a JSON object");

        var header = file.Slice(8, (int)headerLength);
        var data = file.Slice(8 + (int)headerLength);
        var entries = ParseHeader(header, source, out var metadata);
        CheckLayout(entries, data.Length, source);

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in entries)
                tensors.Add(e.Name, MakeTensor(e, data, device ?? Device.Cpu));
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return new SafeTensorsContent(source, entries.Select(e => e.Name).ToList(), tensors, metadata);
    }

    internal readonly record struct Entry(string Name, DType DType, int[] Shape, long Begin, long End);

    private static List<Entry> ParseHeader(ReadOnlySpan<byte> header, string source, out Dictionary<string, string> metadata)
    {
        if (header[0] != (byte)'{')
            throw Corrupt(source, "the header does not start with '{' (not a safetensors file, or a corrupt header length)");
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(header); }
        catch (DecoderFallbackException e) { throw Corrupt(source, "the header is not valid UTF-8", e); }

        JsonDocument document;
        try { document = JsonDocument.Parse(text); }
        catch (JsonException e) { throw Corrupt(source, $"the header is not valid JSON ({e.Message})", e); }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Corrupt(source, "the header is not a JSON object");
            metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<Entry>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw Corrupt(source, $"the header names '{property.Name}' twice");
                if (property.Name == SafeTensorsFormat.MetadataKey)
                    ReadMetadata(property.Value, source, metadata);
                else
                    entries.Add(ReadEntry(property.Name, property.Value, source));
            }
            return entries;
        }
    }

    private static void ReadMetadata(JsonElement value, string source, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Corrupt(source, "'__metadata__' must be an object of strings");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Corrupt(source, $"metadata '{item.Name}' is a {item.Value.ValueKind}, expected a string");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Corrupt(source, $"metadata key '{item.Name}' appears twice");
        }
    }

    private static Entry ReadEntry(string name, JsonElement value, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Corrupt(source, $"tensor '{name}': entry is a {value.ValueKind}, expected an object");
        string? code = null;
        int[]? shape = null;
        long[]? offsets = null;
        foreach (var field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype":
                    if (field.Value.ValueKind != JsonValueKind.String)
                        throw Corrupt(source, $"tensor '{name}': dtype must be a string");
                    code = field.Value.GetString();
                    break;
                case "shape":
                    shape = ReadIntegers(field.Value, name, "shape", source).Select(x => x <= int.MaxValue
                        ? (int)x
                        : throw Corrupt(source, $"tensor '{name}': dimension {x} is too large")).ToArray();
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(field.Value, name, "data_offsets", source);
                    break;
                default:
                    throw Corrupt(source, $"tensor '{name}': unknown field '{field.Name}'");
            }
        }
        if (code is null) throw Corrupt(source, $"tensor '{name}': no dtype");
        if (shape is null) throw Corrupt(source, $"tensor '{name}': no shape");
        if (offsets is null) throw Corrupt(source, $"tensor '{name}': no data_offsets");
        if (!SafeTensorsFormat.TryParse(code, out var dtype))
            throw Corrupt(source, $"tensor '{name}': dtype '{code}' is not supported (F32, F64 and I32 are)");
        if (shape.Length > Shape.MaxRank)
            throw Corrupt(source, $"tensor '{name}': rank {shape.Length} exceeds the engine's maximum {Shape.MaxRank}");
        if (offsets.Length != 2)
            throw Corrupt(source, $"tensor '{name}': data_offsets must hold [begin, end], got {offsets.Length} numbers");
        if (offsets[1] < offsets[0])
            throw Corrupt(source, $"tensor '{name}': data_offsets [{offsets[0]}, {offsets[1]}] end before they begin");
        long elements = 1;
        foreach (int d in shape)
        {
            elements *= d;
            if (elements > int.MaxValue) throw Corrupt(source, $"tensor '{name}': shape [{string.Join(", ", shape)}] is too large");
        }
        long expected = elements * dtype.SizeInBytes();
        if (offsets[1] - offsets[0] != expected)
            throw Corrupt(source, $"tensor '{name}': shape [{string.Join(", ", shape)}] of {code} needs {expected} bytes, data_offsets [{offsets[0]}, {offsets[1]}] give {offsets[1] - offsets[0]}");
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegers(JsonElement value, string name, string field, string source)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw Corrupt(source, $"tensor '{name}': {field} must be an array of non-negative integers");
        var result = new long[value.GetArrayLength()];
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long x) || x < 0)
                throw Corrupt(source, $"tensor '{name}': {field} must be an array of non-negative integers, found {item.GetRawText()}");
            result[i++] = x;
        }
        return result;
    }

    /// <summary>As the reference implementation: sorted by offset, the byte ranges must tile the data exactly (no overlap, no hole, nothing past the end).</summary>
    private static void CheckLayout(List<Entry> entries, long dataLength, string source)
    {
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long position = 0;
        string previous = "(start of data)";
        foreach (var e in sorted)
        {
            if (e.End > dataLength)
                throw Corrupt(source, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] run past the end of the data ({dataLength} bytes): truncated or corrupt");
            if (e.Begin < position)
                throw Corrupt(source, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous}' (which ends at {position})");
            if (e.Begin > position)
                throw Corrupt(source, $"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] leave a gap after '{previous}' (which ends at {position})");
            position = e.End;
            previous = e.Name;
        }
        if (position != dataLength)
            throw Corrupt(source, $"the data holds {dataLength} bytes but the tensors cover only {position}: trailing bytes or a corrupt header");
    }

    private static Tensor MakeTensor(in Entry e, ReadOnlySpan<byte> data, Device device)
    {
        var bytes = data.Slice((int)e.Begin, (int)(e.End - e.Begin));
        var shape = new Shape(e.Shape);
        return e.DType switch
        {
            DType.Float32 => Tensor.FromArray(MemoryMarshal.Cast<byte, float>(bytes), shape, device),
            DType.Float64 => Tensor.FromArray(MemoryMarshal.Cast<byte, double>(bytes), shape, device),
            _ => Tensor.FromArray(MemoryMarshal.Cast<byte, int>(bytes), shape, device),
        };
    }

    private static CheckpointException Corrupt(string source, string what, Exception? inner = null)
    {
        string message = $"safetensors: '{source}' is corrupt: {what}";
        return inner is null ? new CheckpointException(message) : new CheckpointException(message, inner);
    }
}
