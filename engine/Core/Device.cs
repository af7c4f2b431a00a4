namespace DiffTori.Engine;

public enum DeviceKind
{
    /// <summary>The managed SIMD backend (the default and the fast CPU path).</summary>
    Cpu,
    /// <summary>An NVIDIA GPU through ILGPU's CUDA accelerator.</summary>
    Cuda,
    /// <summary>An OpenCL device through ILGPU.</summary>
    OpenCL,
    /// <summary>ILGPU's CPU simulator: slow, used only to test the GPU kernels without a GPU.</summary>
    IlgpuCpu,
}

/// <summary>Where a tensor lives and which backend runs its kernels.</summary>
public sealed class Device
{
    private Device(string name, DeviceKind kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }
    public DeviceKind Kind { get; }
    public IBackend Backend { get; private set; } = null!;
    public bool IsCpu => Kind == DeviceKind.Cpu;

    /// <summary>The managed SIMD CPU backend.</summary>
    public static Device Cpu { get; } = Create("cpu", DeviceKind.Cpu, d => new CpuBackend(d));

    internal static Device Create(string name, DeviceKind kind, Func<Device, IBackend> makeBackend)
    {
        var device = new Device(name, kind);
        device.Backend = makeBackend(device);
        return device;
    }

    /// <summary>
    /// Select a device by name: "cpu" (managed SIMD), "cuda" or "cuda:N", "opencl" or "opencl:N",
    /// and "ilgpu-cpu" (ILGPU's simulator, for testing GPU kernels).
    /// </summary>
    public static Device Get(string name)
    {
        if (string.Equals(name, "cpu", StringComparison.OrdinalIgnoreCase)) return Cpu;
        return GpuDevices.Open(name);
    }

    public override string ToString() => Name;
}
