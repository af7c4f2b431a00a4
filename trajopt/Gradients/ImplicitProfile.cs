// TEMPORARY profiling aid (removed before commit).
using System.Diagnostics;
namespace DiffTori.TrajOpt;
public static class ImplicitProfile
{
    private static readonly Dictionary<string, long> _t = new();
    private static readonly List<string> _order = new();
    private static readonly Dictionary<string, long> _min = new();
    private static long _last = Stopwatch.GetTimestamp();
    public static void Reset() { _t.Clear(); _min.Clear(); _order.Clear(); _last = Stopwatch.GetTimestamp(); }
    public static void Mark(string name)
    {
        long now = Stopwatch.GetTimestamp();
        if (!_t.ContainsKey(name)) { _t[name] = 0; _order.Add(name); }
        long d = now - _last;
        if (!_min.ContainsKey(name) || d < _min[name]) _min[name] = d;
        _t[name] += d;
        _last = Stopwatch.GetTimestamp();
    }
    public static void Print(int reps)
    {
        foreach (var k in _order) Console.WriteLine($"  {k,-28} {_t[k] * 1e3 / Stopwatch.Frequency / reps:F4} ms   min {_min[k] * 1e3 / Stopwatch.Frequency:F4} ms");
    }
}
