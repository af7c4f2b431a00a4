using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace DiffTori.Engine;

// Fill, Copy (strided, broadcast, dtype conversion), Unary, Binary and Where: one thread per element,
// each operand located through its GpuLayout.
public sealed partial class GpuBackend
{
    public void Fill(Tensor destination, double value)
    {
        if (destination.Length == 0) return;
        Span<GpuLayout> l = stackalloc GpuLayout[1];
        GpuLayout.Build(destination.Shape, [destination.Strides], [destination.Offset], l);
        switch (destination.DType)
        {
            case DType.Float32: _any.FillF32(destination.Length, ViewOf<float>(destination), l[0], (float)value); break;
            case DType.Float64: _any.FillF64(destination.Length, ViewOf<double>(destination), l[0], value); break;
            default: _any.FillI32(destination.Length, ViewOf<int>(destination), l[0], GpuInt32.FromDouble(value)); break;
        }
    }

    public void Copy(Tensor source, Tensor destination)
    {
        if (destination.Length == 0) return;
        var sourceStrides = Broadcast.StridesFor(source, destination.Shape, "copy");
        Span<GpuLayout> l = stackalloc GpuLayout[2];
        GpuLayout.Build(destination.Shape, [sourceStrides, destination.Strides], [source.Offset, destination.Offset], l);
        int n = destination.Length;
        switch (source.DType, destination.DType)
        {
            case (DType.Float32, DType.Float32): _any.CopyF32(n, ViewOf<float>(source), l[0], ViewOf<float>(destination), l[1]); break;
            case (DType.Float64, DType.Float64): _any.CopyF64(n, ViewOf<double>(source), l[0], ViewOf<double>(destination), l[1]); break;
            case (DType.Int32, DType.Int32): _any.CopyI32(n, ViewOf<int>(source), l[0], ViewOf<int>(destination), l[1]); break;
            case (DType.Float32, DType.Float64): Convert<float, GpuFloat32, double, GpuFloat64>(source, l[0], destination, l[1]); break;
            case (DType.Float32, DType.Int32): Convert<float, GpuFloat32, int, GpuInt32>(source, l[0], destination, l[1]); break;
            case (DType.Float64, DType.Float32): Convert<double, GpuFloat64, float, GpuFloat32>(source, l[0], destination, l[1]); break;
            case (DType.Float64, DType.Int32): Convert<double, GpuFloat64, int, GpuInt32>(source, l[0], destination, l[1]); break;
            case (DType.Int32, DType.Float32): Convert<int, GpuInt32, float, GpuFloat32>(source, l[0], destination, l[1]); break;
            default: Convert<int, GpuInt32, double, GpuFloat64>(source, l[0], destination, l[1]); break;
        }
    }

    private void Convert<TS, NS, TD, ND>(Tensor source, in GpuLayout ls, Tensor destination, in GpuLayout ld)
        where TS : unmanaged where NS : struct, IGpuNumber<TS>
        where TD : unmanaged where ND : struct, IGpuNumber<TD>
    {
        var kernel = _any.Convert<TS, NS, TD, ND>(source.DType, destination.DType);
        kernel(destination.Length, ViewOf<TS>(source), ls, ViewOf<TD>(destination), ld);
    }

    public void Unary(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
    {
        RequireFloat("Unary", y);
        if (y.DType == DType.Float32) Unary<float, GpuFloat32>(op, x, y, p0, p1);
        else Unary<double, GpuFloat64>(op, x, y, p0, p1);
    }

    private void Unary<T, TNum>(UnaryOp op, Tensor x, Tensor y, double p0, double p1)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        if (y.Length == 0) return;
        Span<GpuLayout> l = stackalloc GpuLayout[2];
        GpuLayout.Build(y.Shape, [x.Strides, y.Strides], [x.Offset, y.Offset], l);
        Real<T, TNum>().Unary(y.Length, ViewOf<T>(x), l[0], ViewOf<T>(y), l[1], (int)op, TNum.FromDouble(p0), TNum.FromDouble(p1));
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        RequireFloat("Binary", y);
        if (y.DType == DType.Float32) Binary<float, GpuFloat32>(op, a, b, y);
        else Binary<double, GpuFloat64>(op, a, b, y);
    }

    private void Binary<T, TNum>(BinaryOp op, Tensor a, Tensor b, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        if (y.Length == 0) return;
        var sa = Broadcast.StridesFor(a, y.Shape, "binary");
        var sb = Broadcast.StridesFor(b, y.Shape, "binary");
        Span<GpuLayout> l = stackalloc GpuLayout[3];
        GpuLayout.Build(y.Shape, [sa, sb, y.Strides], [a.Offset, b.Offset, y.Offset], l);
        Real<T, TNum>().Binary(y.Length, ViewOf<T>(a), l[0], ViewOf<T>(b), l[1], ViewOf<T>(y), l[2], (int)op);
    }

    public void Where(Tensor condition, Tensor a, Tensor b, Tensor y)
    {
        RequireFloat("Where", y);
        if (y.DType == DType.Float32) Where<float, GpuFloat32>(condition, a, b, y);
        else Where<double, GpuFloat64>(condition, a, b, y);
    }

    private void Where<T, TNum>(Tensor condition, Tensor a, Tensor b, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T>
    {
        if (y.Length == 0) return;
        // A condition of another dtype is first converted to y's dtype (only its zeros matter).
        Tensor? converted = null;
        if (condition.DType != y.DType)
        {
            converted = Scratch(condition.Shape, y.DType);
            Copy(condition, converted);
            condition = converted;
        }
        try
        {
            var sc = Broadcast.StridesFor(condition, y.Shape, "where");
            var sa = Broadcast.StridesFor(a, y.Shape, "where");
            var sb = Broadcast.StridesFor(b, y.Shape, "where");
            Span<GpuLayout> l = stackalloc GpuLayout[4];
            GpuLayout.Build(y.Shape, [sc, sa, sb, y.Strides], [condition.Offset, a.Offset, b.Offset, y.Offset], l);
            Real<T, TNum>().Where(y.Length, ViewOf<T>(condition), l[0], ViewOf<T>(a), l[1], ViewOf<T>(b), l[2], ViewOf<T>(y), l[3]);
        }
        finally
        {
            converted?.Dispose();
        }
    }

    // ----- kernels -----

    private static void FillKernel<T>(Index1D i, ArrayView<T> y, GpuLayout ly, T value) where T : unmanaged =>
        y[ly.At(i)] = value;

    private static void CopyKernel<T>(Index1D i, ArrayView<T> x, GpuLayout lx, ArrayView<T> y, GpuLayout ly) where T : unmanaged =>
        y[ly.At(i)] = x[lx.At(i)];

    private static void ConvertKernel<TS, NS, TD, ND>(Index1D i, ArrayView<TS> x, GpuLayout lx, ArrayView<TD> y, GpuLayout ly)
        where TS : unmanaged where NS : struct, IGpuNumber<TS>
        where TD : unmanaged where ND : struct, IGpuNumber<TD> =>
        y[ly.At(i)] = ND.FromDouble(NS.ToDouble(x[lx.At(i)]));

    private static void UnaryKernel<T, TNum>(Index1D i, ArrayView<T> x, GpuLayout lx, ArrayView<T> y, GpuLayout ly, int op, T p0, T p1)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T> =>
        y[ly.At(i)] = GpuMath.Unary((UnaryOp)op, x[lx.At(i)], p0, p1);

    private static void BinaryKernel<T, TNum>(Index1D i, ArrayView<T> a, GpuLayout la, ArrayView<T> b, GpuLayout lb, ArrayView<T> y, GpuLayout ly, int op)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T> =>
        y[ly.At(i)] = GpuMath.Binary((BinaryOp)op, a[la.At(i)], b[lb.At(i)]);

    private static void WhereKernel<T, TNum>(Index1D i, ArrayView<T> c, GpuLayout lc, ArrayView<T> a, GpuLayout la, ArrayView<T> b, GpuLayout lb, ArrayView<T> y, GpuLayout ly)
        where T : unmanaged, IFloatingPointIeee754<T> where TNum : struct, IGpuNumber<T> =>
        y[ly.At(i)] = c[lc.At(i)] != T.Zero ? a[la.At(i)] : b[lb.At(i)];

    private sealed partial class AnyKernels
    {
        private Action<Index1D, ArrayView<float>, GpuLayout, float>? _fillF32;
        private Action<Index1D, ArrayView<double>, GpuLayout, double>? _fillF64;
        private Action<Index1D, ArrayView<int>, GpuLayout, int>? _fillI32;
        private Action<Index1D, ArrayView<float>, GpuLayout, ArrayView<float>, GpuLayout>? _copyF32;
        private Action<Index1D, ArrayView<double>, GpuLayout, ArrayView<double>, GpuLayout>? _copyF64;
        private Action<Index1D, ArrayView<int>, GpuLayout, ArrayView<int>, GpuLayout>? _copyI32;
        private readonly Delegate?[] _convert = new Delegate?[9];

        public Action<Index1D, ArrayView<float>, GpuLayout, float> FillF32 => _fillF32 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, GpuLayout, float>(FillKernel);
        public Action<Index1D, ArrayView<double>, GpuLayout, double> FillF64 => _fillF64 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, GpuLayout, double>(FillKernel);
        public Action<Index1D, ArrayView<int>, GpuLayout, int> FillI32 => _fillI32 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, GpuLayout, int>(FillKernel);
        public Action<Index1D, ArrayView<float>, GpuLayout, ArrayView<float>, GpuLayout> CopyF32 => _copyF32 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, GpuLayout, ArrayView<float>, GpuLayout>(CopyKernel);
        public Action<Index1D, ArrayView<double>, GpuLayout, ArrayView<double>, GpuLayout> CopyF64 => _copyF64 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, GpuLayout, ArrayView<double>, GpuLayout>(CopyKernel);
        public Action<Index1D, ArrayView<int>, GpuLayout, ArrayView<int>, GpuLayout> CopyI32 => _copyI32 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, GpuLayout, ArrayView<int>, GpuLayout>(CopyKernel);

        public Action<Index1D, ArrayView<TS>, GpuLayout, ArrayView<TD>, GpuLayout> Convert<TS, NS, TD, ND>(DType from, DType to)
            where TS : unmanaged where NS : struct, IGpuNumber<TS>
            where TD : unmanaged where ND : struct, IGpuNumber<TD>
        {
            ref var slot = ref _convert[(int)from * 3 + (int)to];
            slot ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TS>, GpuLayout, ArrayView<TD>, GpuLayout>(ConvertKernel<TS, NS, TD, ND>);
            return (Action<Index1D, ArrayView<TS>, GpuLayout, ArrayView<TD>, GpuLayout>)slot;
        }
    }

    private sealed partial class RealKernels<T, TNum>
    {
        private Action<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, int, T, T>? _unary;
        private Action<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, int>? _binary;
        private Action<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout>? _where;

        public Action<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, int, T, T> Unary =>
            _unary ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, int, T, T>(UnaryKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, int> Binary =>
            _binary ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, int>(BinaryKernel<T, TNum>);
        public Action<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout> Where =>
            _where ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout, ArrayView<T>, GpuLayout>(WhereKernel<T, TNum>);
    }
}
