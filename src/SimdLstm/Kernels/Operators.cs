using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace SimdLstm;

/// <summary>
/// An elementwise operation given three times: for one <see cref="float"/>, for a
/// <see cref="Vector128{T}"/> and for a <see cref="Vector256{T}"/>. The three must give
/// bitwise-identical results lane by lane, so a kernel may process any element on any path
/// (main loop, remainder, a different ISA) and still return the same answer.
/// </summary>
internal interface IUnaryOperator
{
    static abstract float Invoke(float x);

    static abstract Vector128<float> Invoke(Vector128<float> x);

    static abstract Vector256<float> Invoke(Vector256<float> x);
}

/// <summary>
/// The one loop driver for unary elementwise operators: width dispatch, the main loop, and the
/// remainder, written once for every <see cref="IUnaryOperator"/> (the JIT specialises it per
/// operator because the type argument is a struct).
/// </summary>
internal static class UnaryDriver
{
    /// <summary>
    /// destination[k] = TOp(x[k]). Callers have validated that the lengths are equal and that the
    /// spans are either disjoint or exactly the same memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply<TOp>(ReadOnlySpan<float> x, Span<float> destination)
        where TOp : struct, IUnaryOperator
    {
        int n = x.Length;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
            Apply256<TOp>(ref xr, ref dr, n);
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
            Apply128<TOp>(ref xr, ref dr, n);
        else
            ApplyScalar<TOp>(ref xr, ref dr, n);
    }

    /// <summary>Requires n &gt;= 8.</summary>
    private static void Apply256<TOp>(ref float xr, ref float dr, int n)
        where TOp : struct, IUnaryOperator
    {
        // The remainder is one final vector that overlaps the last full one. Its input is loaded
        // before the main loop runs, so an exact in-place call (x == destination) still sees the
        // original values; the overlapped elements are recomputed to the same bits.
        nuint last = (nuint)(n - Vector256<float>.Count);
        Vector256<float> tail = Vector256.LoadUnsafe(ref xr, last);
        nuint i = 0;
        for (; i + (nuint)(2 * Vector256<float>.Count) <= (nuint)n; i += (nuint)(2 * Vector256<float>.Count))
        {
            Vector256<float> a = Vector256.LoadUnsafe(ref xr, i);
            Vector256<float> b = Vector256.LoadUnsafe(ref xr, i + (nuint)Vector256<float>.Count);
            TOp.Invoke(a).StoreUnsafe(ref dr, i);
            TOp.Invoke(b).StoreUnsafe(ref dr, i + (nuint)Vector256<float>.Count);
        }

        if (i + (nuint)Vector256<float>.Count <= (nuint)n)
            TOp.Invoke(Vector256.LoadUnsafe(ref xr, i)).StoreUnsafe(ref dr, i);
        TOp.Invoke(tail).StoreUnsafe(ref dr, last);
    }

    /// <summary>Requires n &gt;= 4.</summary>
    private static void Apply128<TOp>(ref float xr, ref float dr, int n)
        where TOp : struct, IUnaryOperator
    {
        nuint last = (nuint)(n - Vector128<float>.Count);
        Vector128<float> tail = Vector128.LoadUnsafe(ref xr, last);
        nuint i = 0;
        for (; i + (nuint)(2 * Vector128<float>.Count) <= (nuint)n; i += (nuint)(2 * Vector128<float>.Count))
        {
            Vector128<float> a = Vector128.LoadUnsafe(ref xr, i);
            Vector128<float> b = Vector128.LoadUnsafe(ref xr, i + (nuint)Vector128<float>.Count);
            TOp.Invoke(a).StoreUnsafe(ref dr, i);
            TOp.Invoke(b).StoreUnsafe(ref dr, i + (nuint)Vector128<float>.Count);
        }

        if (i + (nuint)Vector128<float>.Count <= (nuint)n)
            TOp.Invoke(Vector128.LoadUnsafe(ref xr, i)).StoreUnsafe(ref dr, i);
        TOp.Invoke(tail).StoreUnsafe(ref dr, last);
    }

    private static void ApplyScalar<TOp>(ref float xr, ref float dr, int n)
        where TOp : struct, IUnaryOperator
    {
        for (nuint i = 0; i < (nuint)n; i++)
            Unsafe.Add(ref dr, i) = TOp.Invoke(Unsafe.Add(ref xr, i));
    }
}

/// <summary>
/// a·b + c for the pointwise operators: one fused multiply-add (one rounding) when the processor has
/// FMA instructions, otherwise a multiply and an add (two roundings). The choice is a JIT-time
/// constant and is the same for the scalar, Vector128 and Vector256 forms, so within one process
/// every width still computes the same bits.
/// </summary>
/// <remarks>
/// Why not always fuse: without FMA hardware (x86 before Haswell/Piledriver, low-power x86 without
/// AVX, or a runtime told not to use it) <see cref="Vector128.FusedMultiplyAdd(Vector128{float}, Vector128{float}, Vector128{float})"/>
/// is emulated lane by lane through the C library's fmaf, which made Sigmoid about 60 times slower
/// than on the plain multiply-add. The operators are written so their accuracy bounds hold either way
/// (exact Cody-Waite reduction, no cancellation that depends on fusing); the accuracy tests run on
/// both variants (the default ISA, and the Vector128-only and scalar-only runs, which have no FMA).
/// </remarks>
internal static class MultiplyAdd
{
    /// <summary>True when multiply-adds are fused: x86 FMA3 or Arm64 AdvSimd.</summary>
    public static bool IsFused
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Fma.IsSupported || AdvSimd.Arm64.IsSupported;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float a, float b, float c) => IsFused ? MathF.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        IsFused ? Vector128.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        IsFused ? Vector256.FusedMultiplyAdd(a, b, c) : (a * b) + c;
}
