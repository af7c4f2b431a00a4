namespace DiffTori.Engine;

/// <summary>
/// Index-select/add and gather/scatter-add on contiguous [outer, n, inner] tensors (any dtype).
/// Work is split by outer slab: slabs never write the same elements, so they can run in parallel.
/// </summary>
public sealed partial class CpuBackend
{
    public void IndexSelect(Tensor x, int outer, int n, int inner, Tensor index, Tensor y)
    {
        switch (x.DType)
        {
            case DType.Float32: IndexKernels.Select<float>(x, outer, n, inner, index, y); break;
            case DType.Float64: IndexKernels.Select<double>(x, outer, n, inner, index, y); break;
            default: IndexKernels.Select<int>(x, outer, n, inner, index, y); break;
        }
    }

    public void IndexAdd(Tensor src, int outer, int n, int inner, Tensor index, Tensor y)
    {
        switch (src.DType)
        {
            case DType.Float32: IndexKernels.Add<float>(src, outer, n, inner, index, y); break;
            case DType.Float64: IndexKernels.Add<double>(src, outer, n, inner, index, y); break;
            default: IndexKernels.Add<int>(src, outer, n, inner, index, y); break;
        }
    }

    public void Gather(Tensor x, int outer, int n, int inner, Tensor index, int k, Tensor y)
    {
        switch (x.DType)
        {
            case DType.Float32: GatherKernels.Gather<float>(x, outer, n, inner, index, k, y); break;
            case DType.Float64: GatherKernels.Gather<double>(x, outer, n, inner, index, k, y); break;
            default: GatherKernels.Gather<int>(x, outer, n, inner, index, k, y); break;
        }
    }

    public void ScatterAdd(Tensor src, int outer, int n, int inner, Tensor index, int k, Tensor y)
    {
        switch (src.DType)
        {
            case DType.Float32: GatherKernels.ScatterAdd<float>(src, outer, n, inner, index, k, y); break;
            case DType.Float64: GatherKernels.ScatterAdd<double>(src, outer, n, inner, index, k, y); break;
            default: GatherKernels.ScatterAdd<int>(src, outer, n, inner, index, k, y); break;
        }
    }
}
