using System;
using System.Numerics.Tensors;

namespace SimdLstm;

// Axpy and Scale delegate to TensorPrimitives after validation: its FusedMultiplyAdd is a true
// fused multiply-add on every path (proved by Axpy_IsFused) and its Multiply is a single rounding;
// neither can be made faster by hand, both are memory bound.
public static partial class Kernels
{
    /// <summary>y[k] += α·x[k], as a fused multiply-add (one rounding per element).</summary>
    /// <param name="alpha">The scale α.</param>
    /// <param name="x">The vector added.</param>
    /// <param name="y">The accumulator, updated in place; length must equal <paramref name="x"/>'s and it must not overlap <paramref name="x"/>.</param>
    /// <remarks>Each result is correctly rounded: fma(α, x[k], y[k]).</remarks>
    /// <exception cref="ArgumentException">The lengths differ, or <paramref name="y"/> overlaps <paramref name="x"/>.</exception>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.Length(y.Length, x.Length, nameof(y));
        Guard.NoPartialOverlap(x, y, nameof(x), nameof(y), allowInPlace: false);
        TensorPrimitives.FusedMultiplyAdd(x, alpha, y, y);
    }

    /// <summary>x[k] = α·x[k], in place.</summary>
    /// <param name="alpha">The scale α.</param>
    /// <param name="x">The vector, scaled in place.</param>
    /// <remarks>Each result is correctly rounded.</remarks>
    public static void Scale(float alpha, Span<float> x) => TensorPrimitives.Multiply(x, alpha, x);

    /// <summary>destination[k] = α·x[k].</summary>
    /// <param name="alpha">The scale α.</param>
    /// <param name="x">The input.</param>
    /// <param name="destination">The output; length must equal <paramref name="x"/>'s. May be exactly <paramref name="x"/> (in place).</param>
    /// <remarks>Each result is correctly rounded.</remarks>
    /// <exception cref="ArgumentException">The lengths differ, or the spans partially overlap.</exception>
    public static void Scale(float alpha, ReadOnlySpan<float> x, Span<float> destination)
    {
        ValidateUnary(x, destination, nameof(x), nameof(destination));
        TensorPrimitives.Multiply(x, alpha, destination);
    }
}
