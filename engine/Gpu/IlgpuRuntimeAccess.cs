// ILGPU's CPU accelerator emits a dynamic assembly named "ILGPURuntime" that must see our internal
// kernel argument types (GpuLayout, RowShape, ...).
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("ILGPURuntime")]
