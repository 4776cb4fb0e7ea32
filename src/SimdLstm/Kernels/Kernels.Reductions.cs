using System;
using System.Numerics.Tensors;

namespace SimdLstm;

// The reductions delegate to TensorPrimitives (System.Numerics.Tensors 11): its Dot, Sum and
// SumOfSquares keep a fixed accumulation order that does not depend on where the span starts (the
// ReductionTests prove this at every start offset 0..7 for lengths 0..257 and a few long ones), and
// they are as fast as a hand-written loop would be. What this file adds is the validation contract.
public static partial class Kernels
{
    /// <summary>Dot product: Σₖ x[k]·y[k].</summary>
    /// <param name="x">The first vector.</param>
    /// <param name="y">The second vector; length must equal <paramref name="x"/>'s.</param>
    /// <returns>The sum of products; 0 for empty spans.</returns>
    /// <remarks>
    /// Accumulated in float in several interleaved partial sums (the number depends on the vector
    /// width), so the error is bounded by about n·2^−24·Σ|x[k]·y[k]| and is usually far smaller. The
    /// result is a function of the values, the length and the ISA path only — never of the start
    /// address. Dot(x, y) and Dot(y, x) are bitwise equal. NaN or ∞·0 anywhere gives NaN.
    /// </remarks>
    /// <exception cref="ArgumentException">The lengths differ (named <paramref name="y"/>).</exception>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Guard.Length(y.Length, x.Length, nameof(y));
        return TensorPrimitives.Dot(x, y);
    }

    /// <summary>Sum: Σₖ x[k].</summary>
    /// <param name="x">The values.</param>
    /// <returns>The sum; 0 for an empty span.</returns>
    /// <remarks>
    /// Error bounded by about n·2^−24·Σ|x[k]|; a function of the values, the length and the ISA path
    /// only, never of the start address. NaN, or +∞ together with −∞, gives NaN.
    /// </remarks>
    public static float Sum(ReadOnlySpan<float> x) => TensorPrimitives.Sum(x);

    /// <summary>Sum of squares: Σₖ x[k]².</summary>
    /// <param name="x">The values.</param>
    /// <returns>The sum of squares; 0 for an empty span.</returns>
    /// <remarks>
    /// Error bounded by about n·2^−24·Σx[k]²; a function of the values, the length and the ISA path
    /// only, never of the start address. Overflows to +∞ when the exact result exceeds float range;
    /// NaN anywhere gives NaN.
    /// </remarks>
    public static float SumOfSquares(ReadOnlySpan<float> x) => TensorPrimitives.SumOfSquares(x);
}
