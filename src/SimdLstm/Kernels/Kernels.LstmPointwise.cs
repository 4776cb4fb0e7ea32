using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

public static partial class Kernels
{
    /// <summary>
    /// The fused pointwise part of one LSTM step for one batch row (gate order i, f, g, o as PyTorch):
    /// activates the gates in place and updates the cell and hidden state.
    /// </summary>
    /// <param name="gates">[4H] in: pre-activations (x·W_ihᵀ + h·W_hhᵀ + biases) in blocks i, f, g, o; out: the activations σ(i), σ(f), tanh(g), σ(o), as saved for the backward pass.</param>
    /// <param name="cPrev">[H] the previous cell state c_{t−1}.</param>
    /// <param name="c">[H] out: c_t = f⊙c_{t−1} + i⊙g. May be exactly <paramref name="cPrev"/> (in-place state update for streaming).</param>
    /// <param name="h">[H] out: h_t = o⊙tanh(c_t).</param>
    /// <remarks>
    /// <para>
    /// H = gates.Length / 4. The activations are computed by the same operators as
    /// <see cref="Sigmoid"/> and <see cref="Tanh"/> (same accuracy), and in float
    /// c = fma(f, c_{t−1}, i·g), h = o·tanh(c), where fma is fused when the processor has FMA
    /// instructions and a multiply then an add otherwise; the result is bitwise identical to calling
    /// those kernels and evaluating these expressions, on every vector width.
    /// </para>
    /// <para>
    /// Aliasing: <paramref name="c"/> may be exactly <paramref name="cPrev"/>; no other spans may overlap.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">gates.Length is not a multiple of 4, a length is not H, or spans overlap other than as allowed.</exception>
    public static void LstmPointwiseForward(Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h)
    {
        int hiddenSize = GatesHiddenSize(gates.Length, nameof(gates));
        Guard.Length(cPrev.Length, hiddenSize, nameof(cPrev));
        Guard.Length(c.Length, hiddenSize, nameof(c));
        Guard.Length(h.Length, hiddenSize, nameof(h));
        Guard.NoPartialOverlap(cPrev, c, nameof(cPrev), nameof(c));
        Guard.NoPartialOverlap(gates, c, nameof(gates), nameof(c), allowInPlace: false);
        Guard.NoPartialOverlap(gates, h, nameof(gates), nameof(h), allowInPlace: false);
        Guard.NoPartialOverlap(gates, cPrev, nameof(gates), nameof(cPrev), allowInPlace: false);
        Guard.NoPartialOverlap(cPrev, h, nameof(cPrev), nameof(h), allowInPlace: false);
        Guard.NoPartialOverlap(c, h, nameof(c), nameof(h), allowInPlace: false);

        LstmPointwise.Forward(
            ref MemoryMarshal.GetReference(gates), ref MemoryMarshal.GetReference(cPrev),
            ref MemoryMarshal.GetReference(c), ref MemoryMarshal.GetReference(h), hiddenSize);
    }

    /// <summary>
    /// The fused pointwise part of one LSTM backward step for one batch row: from the saved gate
    /// activations and cell states and the incoming gradients, the gradients of the gate
    /// pre-activations and of the previous cell state.
    /// </summary>
    /// <param name="gates">[4H] the saved activations i, f, g, o (the output of <see cref="LstmPointwiseForward"/>).</param>
    /// <param name="cPrev">[H] c_{t−1}.</param>
    /// <param name="c">[H] c_t.</param>
    /// <param name="dH">[H] the total dL/dh_t (from the output and from step t+1).</param>
    /// <param name="dCNext">[H] dL/dc_t arriving from step t+1 (zeros at the last step).</param>
    /// <param name="dGates">[4H] out: dL/d(pre-activations) in blocks i, f, g, o. May be exactly <paramref name="gates"/> (in place).</param>
    /// <param name="dCPrev">[H] out: dL/dc_{t−1}. May be exactly <paramref name="dCNext"/> (in place).</param>
    /// <remarks>
    /// <para>
    /// With tc = tanh(c) recomputed by the same operator as the forward pass, and derivatives taken
    /// from the saved outputs (σ' = s(1 − s), tanh' = 1 − t²), evaluated in float exactly as:
    /// dc = fma(dH·o, 1 − tc², dCNext) with 1 − tc² = (1 − tc)(1 + tc) as <see cref="TanhDerivativeFromOutput"/>
    /// and fma fused when the processor has FMA instructions (a multiply then an add otherwise);
    /// dI = (dc·g)·(i(1 − i)); dF = (dc·c_{t−1})·(f(1 − f)); dG = (dc·i)·(1 − g²);
    /// dO = (dH·tc)·(o(1 − o)); dCPrev = dc·f.
    /// </para>
    /// <para>
    /// Aliasing: <paramref name="dGates"/> may be exactly <paramref name="gates"/> and
    /// <paramref name="dCPrev"/> exactly <paramref name="dCNext"/>; no other spans may overlap an output.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">gates.Length is not a multiple of 4, a length is not H or 4H, or spans overlap other than as allowed.</exception>
    public static void LstmPointwiseBackward(
        ReadOnlySpan<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> dH, ReadOnlySpan<float> dCNext,
        Span<float> dGates, Span<float> dCPrev)
    {
        int hiddenSize = GatesHiddenSize(gates.Length, nameof(gates));
        Guard.Length(cPrev.Length, hiddenSize, nameof(cPrev));
        Guard.Length(c.Length, hiddenSize, nameof(c));
        Guard.Length(dH.Length, hiddenSize, nameof(dH));
        Guard.Length(dCNext.Length, hiddenSize, nameof(dCNext));
        Guard.Length(dGates.Length, gates.Length, nameof(dGates));
        Guard.Length(dCPrev.Length, hiddenSize, nameof(dCPrev));
        Guard.NoPartialOverlap(gates, dGates, nameof(gates), nameof(dGates));
        Guard.NoPartialOverlap(cPrev, dGates, nameof(cPrev), nameof(dGates), allowInPlace: false);
        Guard.NoPartialOverlap(c, dGates, nameof(c), nameof(dGates), allowInPlace: false);
        Guard.NoPartialOverlap(dH, dGates, nameof(dH), nameof(dGates), allowInPlace: false);
        Guard.NoPartialOverlap(dCNext, dGates, nameof(dCNext), nameof(dGates), allowInPlace: false);
        Guard.NoPartialOverlap(dCNext, dCPrev, nameof(dCNext), nameof(dCPrev));
        Guard.NoPartialOverlap(gates, dCPrev, nameof(gates), nameof(dCPrev), allowInPlace: false);
        Guard.NoPartialOverlap(cPrev, dCPrev, nameof(cPrev), nameof(dCPrev), allowInPlace: false);
        Guard.NoPartialOverlap(c, dCPrev, nameof(c), nameof(dCPrev), allowInPlace: false);
        Guard.NoPartialOverlap(dH, dCPrev, nameof(dH), nameof(dCPrev), allowInPlace: false);
        Guard.NoPartialOverlap(dGates, dCPrev, nameof(dGates), nameof(dCPrev), allowInPlace: false);

        LstmPointwise.Backward(
            ref MemoryMarshal.GetReference(gates), ref MemoryMarshal.GetReference(cPrev), ref MemoryMarshal.GetReference(c),
            ref MemoryMarshal.GetReference(dH), ref MemoryMarshal.GetReference(dCNext),
            ref MemoryMarshal.GetReference(dGates), ref MemoryMarshal.GetReference(dCPrev), hiddenSize);
    }

    private static int GatesHiddenSize(int gatesLength, string paramName)
    {
        if (gatesLength % 4 != 0)
            ThrowGates(gatesLength, paramName);
        return gatesLength / 4;
    }

    [DoesNotReturn]
    private static void ThrowGates(int length, string paramName) =>
        throw new ArgumentException($"Expected a length that is a multiple of 4 (4·hiddenSize, gate blocks i, f, g, o) but got {length}.", paramName);
}

/// <summary>
/// The LSTM pointwise loops. Whole Vector256 blocks, then at most one Vector128 block, then single
/// elements: the operators give the same bits on every width, so the remainder matches what the
/// main loop would have computed, and no block re-reads an element another block has written (which
/// keeps the documented in-place aliasing safe).
/// </summary>
internal static class LstmPointwise
{
    public static void Forward(ref float gates, ref float cPrev, ref float c, ref float h, int hiddenSize) =>
        ForwardRange(ref gates, ref cPrev, ref c, ref h, 0, (nuint)hiddenSize, (nuint)hiddenSize);

    /// <summary>
    /// <see cref="Forward"/> for units [<paramref name="start"/>, <paramref name="end"/>) only, gate q of unit j at
    /// q·<paramref name="stride"/> + j: each unit's values are bitwise those of the whole call (every width computes the
    /// same bits), so disjoint ranges may run on different threads.
    /// </summary>
    public static void ForwardRange(ref float gates, ref float cPrev, ref float c, ref float h, nuint start, nuint end, nuint stride)
    {
        nuint j = start;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + (nuint)Vector256<float>.Count <= end; j += (nuint)Vector256<float>.Count)
                Forward256(ref gates, ref cPrev, ref c, ref h, j, stride);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; j + (nuint)Vector128<float>.Count <= end; j += (nuint)Vector128<float>.Count)
                Forward128(ref gates, ref cPrev, ref c, ref h, j, stride);
        }

        for (; j < end; j++)
            ForwardScalar(ref gates, ref cPrev, ref c, ref h, j, stride);
    }

    public static void Backward(ref float gates, ref float cPrev, ref float c, ref float dH, ref float dCNext, ref float dGates, ref float dCPrev, int hiddenSize)
    {
        nuint n = (nuint)hiddenSize;
        nuint j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + (nuint)Vector256<float>.Count <= n; j += (nuint)Vector256<float>.Count)
                Backward256(ref gates, ref cPrev, ref c, ref dH, ref dCNext, ref dGates, ref dCPrev, j, n);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; j + (nuint)Vector128<float>.Count <= n; j += (nuint)Vector128<float>.Count)
                Backward128(ref gates, ref cPrev, ref c, ref dH, ref dCNext, ref dGates, ref dCPrev, j, n);
        }

        for (; j < n; j++)
            BackwardScalar(ref gates, ref cPrev, ref c, ref dH, ref dCNext, ref dGates, ref dCPrev, j, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Forward256(ref float gates, ref float cPrev, ref float c, ref float h, nuint j, nuint n)
    {
        Vector256<float> i = SigmoidOperator.Invoke(Vector256.LoadUnsafe(ref gates, j));
        Vector256<float> f = SigmoidOperator.Invoke(Vector256.LoadUnsafe(ref gates, n + j));
        Vector256<float> g = TanhOperator.Invoke(Vector256.LoadUnsafe(ref gates, 2 * n + j));
        Vector256<float> o = SigmoidOperator.Invoke(Vector256.LoadUnsafe(ref gates, 3 * n + j));
        Vector256<float> cNew = MultiplyAdd.Invoke(f, Vector256.LoadUnsafe(ref cPrev, j), i * g);
        i.StoreUnsafe(ref gates, j);
        f.StoreUnsafe(ref gates, n + j);
        g.StoreUnsafe(ref gates, 2 * n + j);
        o.StoreUnsafe(ref gates, 3 * n + j);
        cNew.StoreUnsafe(ref c, j);
        (o * TanhOperator.Invoke(cNew)).StoreUnsafe(ref h, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Forward128(ref float gates, ref float cPrev, ref float c, ref float h, nuint j, nuint n)
    {
        Vector128<float> i = SigmoidOperator.Invoke(Vector128.LoadUnsafe(ref gates, j));
        Vector128<float> f = SigmoidOperator.Invoke(Vector128.LoadUnsafe(ref gates, n + j));
        Vector128<float> g = TanhOperator.Invoke(Vector128.LoadUnsafe(ref gates, 2 * n + j));
        Vector128<float> o = SigmoidOperator.Invoke(Vector128.LoadUnsafe(ref gates, 3 * n + j));
        Vector128<float> cNew = MultiplyAdd.Invoke(f, Vector128.LoadUnsafe(ref cPrev, j), i * g);
        i.StoreUnsafe(ref gates, j);
        f.StoreUnsafe(ref gates, n + j);
        g.StoreUnsafe(ref gates, 2 * n + j);
        o.StoreUnsafe(ref gates, 3 * n + j);
        cNew.StoreUnsafe(ref c, j);
        (o * TanhOperator.Invoke(cNew)).StoreUnsafe(ref h, j);
    }

    private static void ForwardScalar(ref float gates, ref float cPrev, ref float c, ref float h, nuint j, nuint n)
    {
        float i = SigmoidOperator.Invoke(Unsafe.Add(ref gates, j));
        float f = SigmoidOperator.Invoke(Unsafe.Add(ref gates, n + j));
        float g = TanhOperator.Invoke(Unsafe.Add(ref gates, 2 * n + j));
        float o = SigmoidOperator.Invoke(Unsafe.Add(ref gates, 3 * n + j));
        float cNew = MultiplyAdd.Invoke(f, Unsafe.Add(ref cPrev, j), i * g);
        Unsafe.Add(ref gates, j) = i;
        Unsafe.Add(ref gates, n + j) = f;
        Unsafe.Add(ref gates, 2 * n + j) = g;
        Unsafe.Add(ref gates, 3 * n + j) = o;
        Unsafe.Add(ref c, j) = cNew;
        Unsafe.Add(ref h, j) = o * TanhOperator.Invoke(cNew);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Backward256(ref float gates, ref float cPrev, ref float c, ref float dH, ref float dCNext, ref float dGates, ref float dCPrev, nuint j, nuint n)
    {
        Vector256<float> i = Vector256.LoadUnsafe(ref gates, j);
        Vector256<float> f = Vector256.LoadUnsafe(ref gates, n + j);
        Vector256<float> g = Vector256.LoadUnsafe(ref gates, 2 * n + j);
        Vector256<float> o = Vector256.LoadUnsafe(ref gates, 3 * n + j);
        Vector256<float> dh = Vector256.LoadUnsafe(ref dH, j);
        Vector256<float> tc = TanhOperator.Invoke(Vector256.LoadUnsafe(ref c, j));
        Vector256<float> dc = MultiplyAdd.Invoke(dh * o, TanhDerivativeOperator.Invoke(tc), Vector256.LoadUnsafe(ref dCNext, j));
        Vector256<float> cp = Vector256.LoadUnsafe(ref cPrev, j);
        (dc * g * SigmoidDerivativeOperator.Invoke(i)).StoreUnsafe(ref dGates, j);
        (dc * cp * SigmoidDerivativeOperator.Invoke(f)).StoreUnsafe(ref dGates, n + j);
        (dc * i * TanhDerivativeOperator.Invoke(g)).StoreUnsafe(ref dGates, 2 * n + j);
        (dh * tc * SigmoidDerivativeOperator.Invoke(o)).StoreUnsafe(ref dGates, 3 * n + j);
        (dc * f).StoreUnsafe(ref dCPrev, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Backward128(ref float gates, ref float cPrev, ref float c, ref float dH, ref float dCNext, ref float dGates, ref float dCPrev, nuint j, nuint n)
    {
        Vector128<float> i = Vector128.LoadUnsafe(ref gates, j);
        Vector128<float> f = Vector128.LoadUnsafe(ref gates, n + j);
        Vector128<float> g = Vector128.LoadUnsafe(ref gates, 2 * n + j);
        Vector128<float> o = Vector128.LoadUnsafe(ref gates, 3 * n + j);
        Vector128<float> dh = Vector128.LoadUnsafe(ref dH, j);
        Vector128<float> tc = TanhOperator.Invoke(Vector128.LoadUnsafe(ref c, j));
        Vector128<float> dc = MultiplyAdd.Invoke(dh * o, TanhDerivativeOperator.Invoke(tc), Vector128.LoadUnsafe(ref dCNext, j));
        Vector128<float> cp = Vector128.LoadUnsafe(ref cPrev, j);
        (dc * g * SigmoidDerivativeOperator.Invoke(i)).StoreUnsafe(ref dGates, j);
        (dc * cp * SigmoidDerivativeOperator.Invoke(f)).StoreUnsafe(ref dGates, n + j);
        (dc * i * TanhDerivativeOperator.Invoke(g)).StoreUnsafe(ref dGates, 2 * n + j);
        (dh * tc * SigmoidDerivativeOperator.Invoke(o)).StoreUnsafe(ref dGates, 3 * n + j);
        (dc * f).StoreUnsafe(ref dCPrev, j);
    }

    private static void BackwardScalar(ref float gates, ref float cPrev, ref float c, ref float dH, ref float dCNext, ref float dGates, ref float dCPrev, nuint j, nuint n)
    {
        float i = Unsafe.Add(ref gates, j);
        float f = Unsafe.Add(ref gates, n + j);
        float g = Unsafe.Add(ref gates, 2 * n + j);
        float o = Unsafe.Add(ref gates, 3 * n + j);
        float dh = Unsafe.Add(ref dH, j);
        float tc = TanhOperator.Invoke(Unsafe.Add(ref c, j));
        float dc = MultiplyAdd.Invoke(dh * o, TanhDerivativeOperator.Invoke(tc), Unsafe.Add(ref dCNext, j));
        float cp = Unsafe.Add(ref cPrev, j);
        Unsafe.Add(ref dGates, j) = dc * g * SigmoidDerivativeOperator.Invoke(i);
        Unsafe.Add(ref dGates, n + j) = dc * cp * SigmoidDerivativeOperator.Invoke(f);
        Unsafe.Add(ref dGates, 2 * n + j) = dc * i * TanhDerivativeOperator.Invoke(g);
        Unsafe.Add(ref dGates, 3 * n + j) = dh * tc * SigmoidDerivativeOperator.Invoke(o);
        Unsafe.Add(ref dCPrev, j) = dc * f;
    }
}
