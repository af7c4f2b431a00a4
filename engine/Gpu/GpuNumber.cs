using ILGPU;

namespace DiffTori.Engine;

/// <summary>
/// What kernels need of an element type beyond generic math, which ILGPU cannot compile for
/// conversions (they test typeof at run time): conversion through double and atomics.
/// Every kernel takes (T, TNum) with TNum one of the structs below; ILGPU specializes each pair.
/// </summary>
internal interface IGpuNumber<T> where T : unmanaged
{
    static abstract T FromDouble(double value);
    static abstract double ToDouble(T value);
    static abstract void AtomicAdd(ref T target, T value);
    static abstract void AtomicMax(ref T target, T value);
    static abstract void AtomicMin(ref T target, T value);
}

internal struct GpuFloat32 : IGpuNumber<float>
{
    public static float FromDouble(double value) => (float)value;
    public static double ToDouble(float value) => value;
    public static void AtomicAdd(ref float target, float value) => Atomic.Add(ref target, value);
    public static void AtomicMax(ref float target, float value) => Atomic.Max(ref target, value);
    public static void AtomicMin(ref float target, float value) => Atomic.Min(ref target, value);
}

internal struct GpuFloat64 : IGpuNumber<double>
{
    public static double FromDouble(double value) => value;
    public static double ToDouble(double value) => value;
    public static void AtomicAdd(ref double target, double value) => Atomic.Add(ref target, value);
    public static void AtomicMax(ref double target, double value) => Atomic.Max(ref target, value);
    public static void AtomicMin(ref double target, double value) => Atomic.Min(ref target, value);
}

internal struct GpuInt32 : IGpuNumber<int>
{
    // Saturating, NaN → 0: the same as .NET's (int) cast of a double and the GPU's cvt.rzi.
    public static int FromDouble(double value) =>
        double.IsNaN(value) ? 0 : value >= 2147483647.0 ? int.MaxValue : value <= -2147483648.0 ? int.MinValue : (int)value;
    public static double ToDouble(int value) => value;
    public static void AtomicAdd(ref int target, int value) => Atomic.Add(ref target, value);
    public static void AtomicMax(ref int target, int value) => Atomic.Max(ref target, value);
    public static void AtomicMin(ref int target, int value) => Atomic.Min(ref target, value);
}
