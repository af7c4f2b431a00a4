using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DiffTori.Rl.Training;

/// <summary>
/// Training and evaluation rows, appended to metrics.jsonl (one JSON object per row, every key) and
/// metrics.csv (a fixed set of columns chosen at the start of the run). Files are flushed after each
/// row; on resume they are cut back to the length they had at the checkpoint.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    public static readonly string[] FixedColumns = ["kind", "env_step", "episode", "episode_return", "eval_return", "wall_s", "steps_per_s"];
    private readonly StreamWriter _jsonl, _csv;
    private readonly string[] _columns;

    public MetricsLog(string folder, IReadOnlyList<string> agentColumns, long? truncateJsonl = null, long? truncateCsv = null)
    {
        _columns = [.. FixedColumns, .. agentColumns];
        JsonlPath = Path.Combine(folder, "metrics.jsonl");
        CsvPath = Path.Combine(folder, "metrics.csv");
        _jsonl = Open(JsonlPath, truncateJsonl);
        _csv = Open(CsvPath, truncateCsv);
        if (_csv.BaseStream.Length == 0)
        {
            _csv.WriteLine(string.Join(",", _columns));
            _csv.Flush();
        }
    }

    public string JsonlPath { get; }
    public string CsvPath { get; }
    public long JsonlLength => _jsonl.BaseStream.Length;
    public long CsvLength => _csv.BaseStream.Length;

    private static StreamWriter Open(string path, long? truncate)
    {
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        if (truncate is long length) stream.SetLength(length);
        stream.Seek(0, SeekOrigin.End);
        return new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
    }

    /// <summary>Append one row; kind is "train" or "eval"; values missing from a CSV column stay empty.</summary>
    public void Write(string kind, IReadOnlyDictionary<string, double> values)
    {
        var json = new Dictionary<string, object> { ["kind"] = kind };
        foreach (var (k, v) in values) json[k] = double.IsFinite(v) ? v : double.NaN.ToString(CultureInfo.InvariantCulture);
        _jsonl.WriteLine(JsonSerializer.Serialize(json));
        _jsonl.Flush();

        var cells = new string[_columns.Length];
        cells[0] = kind;
        for (int i = 1; i < _columns.Length; i++)
            cells[i] = values.TryGetValue(_columns[i], out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";
        _csv.WriteLine(string.Join(",", cells));
        _csv.Flush();
    }

    public void Dispose()
    {
        _jsonl.Dispose();
        _csv.Dispose();
    }

    /// <summary>Read the rows of a metrics.csv: header names to values (NaN for empty cells) per row, with the kind.</summary>
    public static List<(string Kind, Dictionary<string, double> Values)> ReadCsv(string path)
    {
        // Shared read: the trainer may be appending to the file right now.
        var lines = new List<string>();
        using (var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)))
            while (reader.ReadLine() is { } line) lines.Add(line);
        if (lines.Count == 0) throw new InvalidDataException($"MetricsLog.ReadCsv: '{path}' is empty");
        var header = lines[0].Split(',');
        var rows = new List<(string, Dictionary<string, double>)>();
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            var values = new Dictionary<string, double>();
            for (int i = 1; i < header.Length && i < cells.Length; i++)
                values[header[i]] = cells[i].Length == 0 ? double.NaN : double.Parse(cells[i], CultureInfo.InvariantCulture);
            rows.Add((cells[0], values));
        }
        return rows;
    }
}
