using System.Reflection;

namespace DiffTori.Engine;

/// <summary>
/// Every kernel of <see cref="GpuBackend"/> in each instantiation the backend loads, so a test can
/// compile all of them for a real GPU target (PTX) without a GPU: the CPU simulator runs kernels as
/// .NET code and would not notice a construct that ILGPU cannot compile.
/// </summary>
internal static class GpuKernelCatalog
{
    public readonly record struct Entry(MethodInfo Method, bool ExplicitlyGrouped);

    public static IReadOnlyList<Entry> All()
    {
        var list = new List<Entry>();
        var numbers = new[] { (typeof(float), typeof(GpuFloat32)), (typeof(double), typeof(GpuFloat64)), (typeof(int), typeof(GpuInt32)) };
        foreach (var m in typeof(GpuBackend).GetMethods(BindingFlags.NonPublic | BindingFlags.Static))
        {
            if (!m.Name.EndsWith("Kernel", StringComparison.Ordinal)) continue;
            bool grouped = m.GetParameters()[0].ParameterType != typeof(ILGPU.Index1D);
            if (!m.IsGenericMethodDefinition)
            {
                list.Add(new Entry(m, grouped));
                continue;
            }
            switch (m.GetGenericArguments().Length)
            {
                case 1: // any element type
                    foreach (var (t, _) in numbers) list.Add(new Entry(m.MakeGenericMethod(t), grouped));
                    break;
                case 2: // (T, TNum) float kernels
                    for (int i = 0; i < 2; i++) list.Add(new Entry(m.MakeGenericMethod(numbers[i].Item1, numbers[i].Item2), grouped));
                    break;
                default: // conversions between two different element types
                    foreach (var (ts, ns) in numbers)
                        foreach (var (td, nd) in numbers)
                            if (ts != td) list.Add(new Entry(m.MakeGenericMethod(ts, ns, td, nd), grouped));
                    break;
            }
        }
        return list;
    }
}
