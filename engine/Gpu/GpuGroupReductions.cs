using System.Numerics;
using ILGPU.Algorithms.ScanReduceOperations;

namespace DiffTori.Engine;

// The combining rules for ILGPU.Algorithms' group-wide reductions (Group.AllReduce), generic over
// the element type. Max and Min let NaN win, as the row-per-thread kernels do.

internal struct GroupSum<T, TNum> : IScanReduceOperation<T>
    where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
{
    public readonly string CLCommand => "add";
    public readonly T Identity => T.Zero;
    public readonly T Apply(T first, T second) => first + second;
    public readonly void AtomicApply(ref T target, T value) => TNum.AtomicAdd(ref target, value);
}

internal struct GroupMax<T, TNum> : IScanReduceOperation<T>
    where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
{
    public readonly string CLCommand => "max";
    public readonly T Identity => T.NegativeInfinity;
    public readonly T Apply(T first, T second) => T.IsNaN(first) ? first : first > second ? first : second;
    public readonly void AtomicApply(ref T target, T value) => TNum.AtomicMax(ref target, value);
}

internal struct GroupMin<T, TNum> : IScanReduceOperation<T>
    where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
{
    public readonly string CLCommand => "min";
    public readonly T Identity => T.PositiveInfinity;
    public readonly T Apply(T first, T second) => T.IsNaN(first) ? first : first < second ? first : second;
    public readonly void AtomicApply(ref T target, T value) => TNum.AtomicMin(ref target, value);
}
