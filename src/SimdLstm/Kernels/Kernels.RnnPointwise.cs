using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

public static partial class Kernels
{
    /// <summary>
    /// The pointwise part of a vanilla RNN step: h[k] = act(preActivation[k]), act = tanh or ReLU.
    /// </summary>
    /// <param name="preActivation">[H] x·W_ihᵀ + h·W_hhᵀ + biases.</param>
    /// <param name="h">[H] out: the new hidden state. May be exactly <paramref name="preActivation"/> (in place).</param>
    /// <param name="activation">The nonlinearity.</param>
    /// <remarks>Bitwise identical to <see cref="Tanh"/> or <see cref="Relu"/>, with their accuracy and special values.</remarks>
    /// <exception cref="ArgumentException">The lengths differ, or the spans partially overlap.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="activation"/> is not a defined value.</exception>
    public static void RnnPointwiseForward(ReadOnlySpan<float> preActivation, Span<float> h, RnnActivation activation)
    {
        ValidateUnary(preActivation, h, nameof(preActivation), nameof(h));
        switch (activation)
        {
            case RnnActivation.Tanh:
                UnaryDriver.Apply<TanhOperator>(preActivation, h);
                break;
            case RnnActivation.Relu:
                UnaryDriver.Apply<ReluOperator>(preActivation, h);
                break;
            default:
                ThrowActivation(activation);
                break;
        }
    }

    /// <summary>
    /// The pointwise part of a vanilla RNN backward step: dPreActivation[k] = dH[k]·act'(h[k]), with the
    /// derivative taken from the saved output (tanh' = 1 − h², ReLU' = h &gt; 0 ? 1 : 0).
    /// </summary>
    /// <param name="h">[H] the saved outputs of <see cref="RnnPointwiseForward"/>.</param>
    /// <param name="dH">[H] the total dL/dh.</param>
    /// <param name="dPreActivation">[H] out: dL/d(pre-activation). May be exactly <paramref name="dH"/> (in place); must not overlap <paramref name="h"/>.</param>
    /// <param name="activation">The nonlinearity used in the forward pass.</param>
    /// <remarks>
    /// Evaluated in float as dH·((1 − h)(1 + h)) for tanh and dH·(h &gt; 0 ? 1 : 0) for ReLU — the product of
    /// <paramref name="dH"/> and <see cref="TanhDerivativeFromOutput"/> / <see cref="ReluDerivativeFromOutput"/>,
    /// bitwise. (So a non-finite dH where h ≤ 0 gives NaN for ReLU rather than being masked.)
    /// </remarks>
    /// <exception cref="ArgumentException">A length differs, or spans overlap other than as allowed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="activation"/> is not a defined value.</exception>
    public static void RnnPointwiseBackward(ReadOnlySpan<float> h, ReadOnlySpan<float> dH, Span<float> dPreActivation, RnnActivation activation)
    {
        Guard.Length(dH.Length, h.Length, nameof(dH));
        Guard.Length(dPreActivation.Length, h.Length, nameof(dPreActivation));
        Guard.NoPartialOverlap(dH, dPreActivation, nameof(dH), nameof(dPreActivation));
        Guard.NoPartialOverlap(h, dPreActivation, nameof(h), nameof(dPreActivation), allowInPlace: false);
        switch (activation)
        {
            case RnnActivation.Tanh:
                GradientDriver.Apply<TanhDerivativeOperator>(h, dH, dPreActivation);
                break;
            case RnnActivation.Relu:
                GradientDriver.Apply<ReluDerivativeOperator>(h, dH, dPreActivation);
                break;
            default:
                ThrowActivation(activation);
                break;
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowActivation(RnnActivation activation) =>
        throw new ArgumentOutOfRangeException(nameof(activation), activation, $"Expected {nameof(RnnActivation.Tanh)} or {nameof(RnnActivation.Relu)} but got {(int)activation}.");
}

/// <summary>
/// destination[k] = dY[k]·TDerivative(y[k]): the chain rule through an activation whose derivative is
/// a function of its output. Whole Vector256 blocks, at most one Vector128 block, then single
/// elements (bitwise identical on every width); no block re-reads an element another has written,
/// so destination may be exactly dY.
/// </summary>
internal static class GradientDriver
{
    public static void Apply<TDerivative>(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> destination)
        where TDerivative : struct, IUnaryOperator
    {
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float gr = ref MemoryMarshal.GetReference(dY);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)y.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref gr, i) * TDerivative.Invoke(Vector256.LoadUnsafe(ref yr, i))).StoreUnsafe(ref dr, i);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + (nuint)Vector128<float>.Count <= n; i += (nuint)Vector128<float>.Count)
                (Vector128.LoadUnsafe(ref gr, i) * TDerivative.Invoke(Vector128.LoadUnsafe(ref yr, i))).StoreUnsafe(ref dr, i);
        }

        for (; i < n; i++)
            Unsafe.Add(ref dr, i) = Unsafe.Add(ref gr, i) * TDerivative.Invoke(Unsafe.Add(ref yr, i));
    }
}
