namespace DiffTori.Rl.Replay;

public sealed partial class ReplayBuffer
{
    private const int FormatVersion = 1;
    private const string Magic = "DTRB";

    /// <summary>Write the whole buffer to one binary file, atomically (temp file, then rename).</summary>
    public void Save(string path)
    {
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        using (var w = new BinaryWriter(stream))
        {
            w.Write(Magic.ToCharArray());
            w.Write(FormatVersion);
            w.Write(ObservationDim); w.Write(ActionDim); w.Write(Capacity); w.Write(Window); w.Write(Prioritized);
            w.Write(Count); w.Write(Position); w.Write(TotalAdded); w.Write(_maxPriority);
            WriteFloats(w, _obs, Count * ObservationDim);
            WriteFloats(w, _nextObs, Count * ObservationDim);
            WriteFloats(w, _actions, Count * ActionDim);
            WriteFloats(w, _rewards, Count);
            w.Write(_terminal, 0, Count);
            for (int i = 0; i < Count; i++) w.Write(_validStart[i]);
            var leaves = _tree.Leaves();
            for (int i = 0; i < Count; i++) w.Write(leaves[i]);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Restore a buffer saved by <see cref="Save"/> into this one (same dimensions, capacity and window).</summary>
    public void Load(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        string magic = new(r.ReadChars(4));
        int version = r.ReadInt32();
        if (magic != Magic || version != FormatVersion)
            throw new InvalidDataException($"ReplayBuffer.Load: '{path}' is not a replay buffer file of version {FormatVersion}");
        int obsDim = r.ReadInt32(), actDim = r.ReadInt32(), capacity = r.ReadInt32(), window = r.ReadInt32();
        bool prioritized = r.ReadBoolean();
        if (obsDim != ObservationDim || actDim != ActionDim || capacity != Capacity || window != Window || prioritized != Prioritized)
            throw new InvalidDataException(
                $"ReplayBuffer.Load: '{path}' has obs {obsDim}, act {actDim}, capacity {capacity}, window {window}, prioritized {prioritized}; " +
                $"this buffer has {ObservationDim}, {ActionDim}, {Capacity}, {Window}, {Prioritized}");
        Count = r.ReadInt32(); Position = r.ReadInt32(); TotalAdded = r.ReadInt64(); _maxPriority = r.ReadDouble();
        ReadFloats(r, _obs, Count * ObservationDim);
        ReadFloats(r, _nextObs, Count * ObservationDim);
        ReadFloats(r, _actions, Count * ActionDim);
        ReadFloats(r, _rewards, Count);
        r.Read(_terminal, 0, Count);
        for (int i = 0; i < Count; i++) _validStart[i] = r.ReadBoolean();
        var leaves = new double[Capacity];
        for (int i = 0; i < Count; i++) leaves[i] = r.ReadDouble();
        _tree.LoadLeaves(leaves);
    }

    private static void WriteFloats(BinaryWriter w, float[] data, int count) =>
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan(0, count)));

    private static void ReadFloats(BinaryReader r, float[] data, int count)
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan(0, count));
        int read = 0;
        while (read < bytes.Length)
        {
            int n = r.Read(bytes[read..]);
            if (n == 0) throw new EndOfStreamException("ReplayBuffer.Load: the file ends early");
            read += n;
        }
    }
}
