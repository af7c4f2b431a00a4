namespace DiffTori.Engine;

// PLACEHOLDER: replaced by the GPU helper.
public static class GpuDevices
{
    public static Device Open(string name) => throw new NotImplementedException($"GPU device '{name}': the ILGPU backend is not built yet");
}
