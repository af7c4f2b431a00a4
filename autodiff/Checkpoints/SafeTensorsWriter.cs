using System.Runtime.InteropServices;
using System.Text.Json;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Checkpoints;

/// <summary>
/// Writes the safetensors format (https://github.com/huggingface/safetensors):
/// 8 bytes little-endian header length N, N bytes of JSON header (padded with spaces to a multiple of 8),
/// then the tensors' bytes back to back, little-endian, row-major. The header maps each name to
/// {"dtype", "shape", "data_offsets": [begin, end)} relative to the start of the data; an optional
/// "__metadata__" entry maps strings to strings. Files are written atomically.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>Called after the data is written and flushed, before the rename; tests throw here to simulate a crash.</summary>
    internal static Action<string>? BeforeCommitForTests;

    /// <summary>
    /// Write the tensors (in the given order) and metadata to path. The bytes go to a temporary file in
    /// the same folder, which is flushed to disk and then renamed over path, so a crash or an error
    /// leaves either the old file or the new one, never a partial file.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var entries = tensors.ToList();
        Validate(path, entries, metadata);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors: writing needs a little-endian host");

        string fullPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(fullPath) ?? throw new CheckpointException($"safetensors: '{path}' has no parent folder");
        if (!Directory.Exists(folder))
            throw new CheckpointException($"safetensors: cannot write '{fullPath}': folder '{folder}' does not exist");

        byte[] header = BuildHeader(entries, metadata);
        string temp = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> length = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var (_, tensor) in entries) WriteData(stream, tensor);
                stream.Flush(flushToDisk: true);   // fsync: the data is on disk before the rename makes it visible
            }
            BeforeCommitForTests?.Invoke(temp);
            File.Move(temp, fullPath, overwrite: true);   // rename(2): atomic within one file system
            DirectorySync.Flush(folder);                   // and durable once the folder's entry is on disk
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { /* the original error matters more */ }
            throw;
        }
    }

    private static void Validate(string path, List<KeyValuePair<string, Tensor>> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in entries)
        {
            if (string.IsNullOrEmpty(name))
                throw new CheckpointException($"safetensors: cannot write '{path}': a tensor has an empty name");
            if (name == SafeTensorsFormat.MetadataKey)
                throw new CheckpointException($"safetensors: cannot write '{path}': '{name}' is reserved for metadata");
            if (!seen.Add(name))
                throw new CheckpointException($"safetensors: cannot write '{path}': tensor name '{name}' appears twice");
            if (tensor is null || tensor.IsDisposed)
                throw new CheckpointException($"safetensors: cannot write '{path}': tensor '{name}' is null or disposed");
        }
        if (metadata is null) return;
        foreach (var (key, value) in metadata)
            if (key is null || value is null)
                throw new CheckpointException($"safetensors: cannot write '{path}': metadata keys and values must be non-null strings");
    }

    /// <summary>The JSON header, padded with spaces to a multiple of 8 bytes (as the reference implementation does).</summary>
    internal static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsFormat.MetadataKey);
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in entries)
            {
                long bytes = (long)tensor.Length * tensor.DType.SizeInBytes();
                json.WriteStartObject(name);
                json.WriteString("dtype", SafeTensorsFormat.Code(tensor.DType));
                json.WriteStartArray("shape");
                for (int i = 0; i < tensor.Rank; i++) json.WriteNumberValue(tensor.Shape[i]);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padded = (int)((buffer.Length + 7) / 8 * 8);
        while (buffer.Length < padded) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    private static void WriteData(Stream stream, Tensor tensor)
    {
        using var cpu = tensor.To(Device.Cpu);
        using var dense = cpu.Contiguous();
        switch (dense.DType)
        {
            case DType.Float32: stream.Write(MemoryMarshal.AsBytes(dense.AsSpan<float>())); break;
            case DType.Float64: stream.Write(MemoryMarshal.AsBytes(dense.AsSpan<double>())); break;
            default: stream.Write(MemoryMarshal.AsBytes(dense.AsSpan<int>())); break;
        }
    }
}
