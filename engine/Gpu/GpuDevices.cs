using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace DiffTori.Engine;

/// <summary>
/// The ILGPU devices by name: "cuda" / "cuda:N", "opencl" / "opencl:N", and "ilgpu-cpu" (ILGPU's CPU
/// simulator, for testing the GPU kernels without a GPU). One ILGPU context for the process, and one
/// accelerator (with its backend and kernel cache) per device, both created on first use and kept.
/// </summary>
public static class GpuDevices
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Device> Opened = new(StringComparer.Ordinal);
    private static Context? _context;

    /// <summary>
    /// The simulated CPU device: a warp of 4 and groups of up to 256 threads, so the tiled kernels
    /// (16×16 groups) run unchanged on it.
    /// </summary>
    internal static readonly CPUDevice SimulatorDevice = new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 64, numMultiprocessors: 1);

    /// <summary>The shared ILGPU context (CPU simulator, CUDA and OpenCL, with ILGPU.Algorithms).</summary>
    internal static Context Context
    {
        get
        {
            lock (Gate)
            {
                return _context ??= Context.Create(builder => builder
                    .CPU(SimulatorDevice)
                    .Cuda()
                    .OpenCL()
                    .EnableAlgorithms()
                    .Optimize(OptimizationLevel.O1));
            }
        }
    }

    /// <summary>Open (or return the already opened) device of that name.</summary>
    public static Device Open(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var (kind, index) = Parse(name);
        string canonical = CanonicalName(kind, index);
        lock (Gate)
        {
            if (Opened.TryGetValue(canonical, out var open)) return open;
        }
        var candidates = DevicesOf(kind);
        if (index >= candidates.Count)
        {
            throw new InvalidOperationException(
                $"GPU device '{name}' is not available: found {candidates.Count} {KindWord(kind)} device(s). " +
                $"Available devices: {string.Join(", ", Available())}");
        }
        var ilgpuDevice = candidates[index];
        lock (Gate)
        {
            if (Opened.TryGetValue(canonical, out var raced)) return raced;
            var accelerator = ilgpuDevice is CPUDevice cpu
                ? cpu.CreateCPUAccelerator(Context, CPUAcceleratorMode.Parallel)
                : ilgpuDevice.CreateAccelerator(Context);
            var device = Device.Create(canonical, kind, d => new GpuBackend(d, accelerator));
            Opened[canonical] = device;
            return device;
        }
    }

    /// <summary>Names of every device <see cref="Open"/> accepts on this machine ("cpu" included).</summary>
    public static IReadOnlyList<string> Available()
    {
        var names = new List<string> { "cpu" };
        foreach (var kind in new[] { DeviceKind.Cuda, DeviceKind.OpenCL, DeviceKind.IlgpuCpu })
        {
            int count = DevicesOf(kind).Count;
            for (int i = 0; i < count; i++) names.Add(CanonicalName(kind, i));
        }
        return names;
    }

    /// <summary>True when at least one CUDA device is present (tests that need a real GPU check this).</summary>
    public static bool HasCuda => DevicesOf(DeviceKind.Cuda).Count > 0;

    /// <summary>Descriptions (name, memory, group size) of the ILGPU devices, for logs and `difftori envs`.</summary>
    public static IReadOnlyList<string> Describe()
    {
        var lines = new List<string>();
        foreach (var d in Context.Devices)
            lines.Add($"{d.AcceleratorType}: {d.Name}, {d.MemorySize / (1 << 20)} MiB, max group {d.MaxNumThreadsPerGroup}");
        return lines;
    }

    private static List<ILGPU.Runtime.Device> DevicesOf(DeviceKind kind)
    {
        var type = kind switch
        {
            DeviceKind.Cuda => AcceleratorType.Cuda,
            DeviceKind.OpenCL => AcceleratorType.OpenCL,
            _ => AcceleratorType.CPU,
        };
        var list = new List<ILGPU.Runtime.Device>();
        foreach (var d in Context.Devices)
        {
            if (d.AcceleratorType != type) continue;
            // Only our own simulator configuration counts as "ilgpu-cpu".
            if (kind == DeviceKind.IlgpuCpu && !ReferenceEquals(d, SimulatorDevice) && !d.Equals(SimulatorDevice)) continue;
            list.Add(d);
        }
        if (kind == DeviceKind.IlgpuCpu && list.Count > 1) list.RemoveRange(1, list.Count - 1);
        return list;
    }

    private static (DeviceKind Kind, int Index) Parse(string name)
    {
        string n = name.Trim().ToLowerInvariant();
        if (n == "ilgpu-cpu") return (DeviceKind.IlgpuCpu, 0);
        foreach (var (prefix, kind) in new[] { ("cuda", DeviceKind.Cuda), ("opencl", DeviceKind.OpenCL) })
        {
            if (n == prefix) return (kind, 0);
            if (n.StartsWith(prefix + ":", StringComparison.Ordinal) &&
                int.TryParse(n.AsSpan(prefix.Length + 1), System.Globalization.NumberStyles.None, null, out int index))
                return (kind, index);
        }
        throw new ArgumentException(
            $"unknown device name '{name}': use \"cpu\", \"cuda\", \"cuda:N\", \"opencl\", \"opencl:N\" or \"ilgpu-cpu\"");
    }

    private static string CanonicalName(DeviceKind kind, int index) => kind switch
    {
        DeviceKind.Cuda => $"cuda:{index}",
        DeviceKind.OpenCL => $"opencl:{index}",
        _ => "ilgpu-cpu",
    };

    private static string KindWord(DeviceKind kind) => kind switch
    {
        DeviceKind.Cuda => "CUDA",
        DeviceKind.OpenCL => "OpenCL",
        _ => "ILGPU CPU",
    };
}
