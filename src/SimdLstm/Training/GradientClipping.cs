using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm.Training;

/// <summary>What <see cref="GradientClipping.ClipByGlobalNorm"/> does when the gradient norm is not a finite float.</summary>
public enum NonFiniteNormPolicy
{
    /// <summary>
    /// Leave the gradients untouched and return the non-finite norm (NaN or +∞). The caller tests
    /// <see cref="float.IsFinite"/> on the result, skips the optimiser step and counts the skip.
    /// </summary>
    SkipStep = 0,

    /// <summary>Leave the gradients untouched and throw <see cref="NonFiniteGradientException"/>.</summary>
    Throw = 1,
}

/// <summary>The gradient norm was NaN or infinite, under <see cref="NonFiniteNormPolicy.Throw"/>.</summary>
public sealed class NonFiniteGradientException : ArithmeticException
{
    /// <summary>Creates the exception with a default message.</summary>
    public NonFiniteGradientException()
        : base("The gradient norm is not finite.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">The reason.</param>
    public NonFiniteGradientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and an inner exception.</summary>
    /// <param name="message">The reason.</param>
    /// <param name="innerException">The cause.</param>
    public NonFiniteGradientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a computed <paramref name="norm"/>.</summary>
    /// <param name="norm">The offending norm (NaN or +∞).</param>
    /// <param name="length">The number of gradient elements.</param>
    internal NonFiniteGradientException(float norm, int length)
        : base($"The global L2 norm of the {length} gradient elements is {norm}; the gradients were left unchanged.")
    {
        Norm = norm;
    }

    /// <summary>The norm that was found: NaN or +∞ (NaN when constructed without one).</summary>
    public float Norm { get; } = float.NaN;
}

/// <summary>Gradient clipping over one flat gradient vector (the whole model's gradients in one span).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Computes the global L2 norm ‖g‖ = √(Σ gᵢ²) of <paramref name="gradients"/> and, only when
    /// ‖g‖ &gt; <paramref name="maxNorm"/>, scales every element by <paramref name="maxNorm"/>/‖g‖ in
    /// place so the clipped norm is <paramref name="maxNorm"/> (to float rounding). Returns the norm before clipping.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The squares are accumulated in double, so the norm neither overflows (a float squared is at most
    /// about 1.2e77) nor underflows (subnormal floats square to normal doubles); each square is exact and
    /// the only error is the double summation, so the returned float is correctly rounded except in
    /// rare ties (relative error ≤ 2⁻²⁴ + n·2⁻⁵³). The summation order depends on the instruction set,
    /// so the last bit of the norm may differ between machines; the clipping decision uses the double norm.
    /// </para>
    /// <para>
    /// Like PyTorch's <c>torch.nn.utils.clip_grad_norm_</c> with <c>norm_type=2</c>, except that the scale is
    /// exactly maxNorm/‖g‖ (no +1e-6 in the denominator) and nothing is written when no clipping is needed.
    /// </para>
    /// <para>
    /// Non-finite norm: if any element is NaN or ±∞, or the norm itself exceeds <see cref="float.MaxValue"/>
    /// (possible only for gradients near float's range), the gradients are left unchanged and
    /// <paramref name="policy"/> decides: <see cref="NonFiniteNormPolicy.SkipStep"/> returns the norm
    /// (NaN or +∞) for the caller to skip the update; <see cref="NonFiniteNormPolicy.Throw"/> throws.
    /// </para>
    /// <para>Allocates nothing.</para>
    /// </remarks>
    /// <param name="gradients">The gradients, scaled in place when clipped.</param>
    /// <param name="maxNorm">The largest allowed norm: &gt; 0; +∞ never clips.</param>
    /// <param name="policy">What to do when the norm is not finite.</param>
    /// <returns>The norm before clipping, rounded to float; NaN or +∞ when not finite (under <see cref="NonFiniteNormPolicy.SkipStep"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not &gt; 0, or <paramref name="policy"/> is not defined.</exception>
    /// <exception cref="NonFiniteGradientException">The norm is not finite and <paramref name="policy"/> is <see cref="NonFiniteNormPolicy.Throw"/>.</exception>
    public static float ClipByGlobalNorm(Span<float> gradients, float maxNorm, NonFiniteNormPolicy policy = NonFiniteNormPolicy.SkipStep)
    {
        if (!(maxNorm > 0f))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"Expected a maximum norm greater than 0 but got {maxNorm}.");
        if (policy is not (NonFiniteNormPolicy.SkipStep or NonFiniteNormPolicy.Throw))
            throw new ArgumentOutOfRangeException(nameof(policy), policy, "Expected SkipStep or Throw.");

        double norm = Math.Sqrt(SumOfSquares(gradients));
        float result = (float)norm;
        if (!float.IsFinite(result))
        {
            // NaN stays NaN; a finite double above float.MaxValue rounds to +∞.
            if (policy == NonFiniteNormPolicy.Throw)
                throw new NonFiniteGradientException(result, gradients.Length);
            return result;
        }
        if (norm > maxNorm)
            TensorPrimitives.Multiply(gradients, (float)(maxNorm / norm), gradients);
        return result;
    }

    /// <summary>Σ xᵢ² accumulated in double: exact squares, no overflow or underflow for any float input.</summary>
    internal static double SumOfSquares(ReadOnlySpan<float> x)
    {
        ref float r = ref MemoryMarshal.GetReference(x);
        nuint n = (nuint)x.Length;
        nuint i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<double> a0 = Vector256<double>.Zero, a1 = Vector256<double>.Zero, a2 = Vector256<double>.Zero, a3 = Vector256<double>.Zero;
            // Two float vectors per iteration into four independent double accumulators, so the adds overlap.
            for (; i + 16 <= n; i += 16)
            {
                (Vector256<double> lo0, Vector256<double> hi0) = Vector256.Widen(Vector256.LoadUnsafe(ref r, i));
                (Vector256<double> lo1, Vector256<double> hi1) = Vector256.Widen(Vector256.LoadUnsafe(ref r, i + 8));
                a0 += lo0 * lo0;
                a1 += hi0 * hi0;
                a2 += lo1 * lo1;
                a3 += hi1 * hi1;
            }
            if (i + 8 <= n)
            {
                (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(Vector256.LoadUnsafe(ref r, i));
                a0 += lo * lo;
                a1 += hi * hi;
                i += 8;
            }
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Vector128<double> a0 = Vector128<double>.Zero, a1 = Vector128<double>.Zero, a2 = Vector128<double>.Zero, a3 = Vector128<double>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                (Vector128<double> lo0, Vector128<double> hi0) = Vector128.Widen(Vector128.LoadUnsafe(ref r, i));
                (Vector128<double> lo1, Vector128<double> hi1) = Vector128.Widen(Vector128.LoadUnsafe(ref r, i + 4));
                a0 += lo0 * lo0;
                a1 += hi0 * hi0;
                a2 += lo1 * lo1;
                a3 += hi1 * hi1;
            }
            sum = Vector128.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < n; i++)
        {
            double v = Unsafe.Add(ref r, i);
            sum += v * v;
        }
        return sum;
    }
}
