using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

public static partial class Kernels
{
    /// <summary>
    /// The fused pointwise part of one GRU step for one batch row (gate order r, z, n as PyTorch's <c>nn.GRU</c>).
    /// </summary>
    /// <param name="gates">[3H] in: the input projection W_ih·x + b_ih in blocks r, z, n; out: the activations r, z, n, as saved for the backward pass.</param>
    /// <param name="recurrent">[3H] the recurrent projection W_hh·h₋₁ + b_hh in blocks r, z, n (its n block is saved for the backward pass).</param>
    /// <param name="hPrev">[H] h₋₁.</param>
    /// <param name="h">[H] out: h = (1 − z)⊙n + z⊙h₋₁. May be exactly <paramref name="hPrev"/> (in-place state update).</param>
    /// <remarks>
    /// Evaluated in float as r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(fma(r, gh_n, gi_n)), h = fma(z, h₋₁ − n, n),
    /// with σ and tanh the operators of <see cref="Sigmoid"/> and <see cref="Tanh"/> (same accuracy) and fma fused where the
    /// processor has FMA; bitwise the same on every vector width.
    /// </remarks>
    /// <exception cref="ArgumentException">gates.Length is not a multiple of 3, a length is not H or 3H, or spans overlap other than as allowed.</exception>
    public static void GruPointwiseForward(Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev, Span<float> h)
    {
        int hiddenSize = GruHiddenSize(gates.Length, nameof(gates));
        Guard.Length(recurrent.Length, gates.Length, nameof(recurrent));
        Guard.Length(hPrev.Length, hiddenSize, nameof(hPrev));
        Guard.Length(h.Length, hiddenSize, nameof(h));
        Guard.NoPartialOverlap(hPrev, h, nameof(hPrev), nameof(h));
        Guard.NoPartialOverlap(recurrent, gates, nameof(recurrent), nameof(gates), allowInPlace: false);
        Guard.NoPartialOverlap(hPrev, gates, nameof(hPrev), nameof(gates), allowInPlace: false);
        Guard.NoPartialOverlap(gates, h, nameof(gates), nameof(h), allowInPlace: false);
        Guard.NoPartialOverlap(recurrent, h, nameof(recurrent), nameof(h), allowInPlace: false);
        GruPointwise.ForwardRange(ref MemoryMarshal.GetReference(gates), ref MemoryMarshal.GetReference(recurrent),
            ref MemoryMarshal.GetReference(hPrev), ref MemoryMarshal.GetReference(h), 0, (nuint)hiddenSize, (nuint)hiddenSize);
    }

    /// <summary>
    /// The fused pointwise part of one GRU backward step for one batch row: from the saved activations and the total
    /// dL/dh, the gradients of the input projection, of the recurrent projection, and the direct part of dL/dh₋₁.
    /// </summary>
    /// <param name="gates">[3H] the saved activations r, z, n (the output of <see cref="GruPointwiseForward"/>).</param>
    /// <param name="recurrent">[3H] the recurrent projection of the forward step (only its n block, W_hn·h₋₁ + b_hn, is read).</param>
    /// <param name="hPrev">[H] h₋₁.</param>
    /// <param name="dH">[H] the total dL/dh (from the output and from step t+1).</param>
    /// <param name="dGates">[3H] out: dL/d(W_ih·x + b_ih), blocks r, z, n.</param>
    /// <param name="dRecurrent">[3H] out: dL/d(W_hh·h₋₁ + b_hh), blocks r, z, n (equal to dGates but for n, which is r times it).</param>
    /// <param name="dHPrev">[H] out: dL/dh·z, the part of dL/dh₋₁ that does not pass through W_hh.</param>
    /// <remarks>
    /// Evaluated in float as dn = (dH·(1 − z))·(1 − n²) with 1 − n² = (1 − n)(1 + n) as <see cref="TanhDerivativeFromOutput"/>;
    /// dr = (dn·gh_n)·(r(1 − r)); dz = (dH·(h₋₁ − n))·(z(1 − z)); dGates = (dr, dz, dn); dRecurrent = (dr, dz, dn·r);
    /// dHPrev = dH·z. No output may overlap another span.
    /// </remarks>
    /// <exception cref="ArgumentException">gates.Length is not a multiple of 3, a length is not H or 3H, or spans overlap.</exception>
    public static void GruPointwiseBackward(ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> dH,
        Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev)
    {
        int hiddenSize = GruHiddenSize(gates.Length, nameof(gates));
        Guard.Length(recurrent.Length, gates.Length, nameof(recurrent));
        Guard.Length(hPrev.Length, hiddenSize, nameof(hPrev));
        Guard.Length(dH.Length, hiddenSize, nameof(dH));
        Guard.Length(dGates.Length, gates.Length, nameof(dGates));
        Guard.Length(dRecurrent.Length, gates.Length, nameof(dRecurrent));
        Guard.Length(dHPrev.Length, hiddenSize, nameof(dHPrev));
        ReadOnlySpan<float> dGatesRead = dGates, dRecurrentRead = dRecurrent, dHPrevRead = dHPrev;
        CheckGruOutput(dGatesRead, nameof(dGates), gates, recurrent, hPrev, dH);
        CheckGruOutput(dRecurrentRead, nameof(dRecurrent), gates, recurrent, hPrev, dH);
        CheckGruOutput(dHPrevRead, nameof(dHPrev), gates, recurrent, hPrev, dH);
        Guard.NoPartialOverlap(dGatesRead, dRecurrentRead, nameof(dGates), nameof(dRecurrent), allowInPlace: false);
        Guard.NoPartialOverlap(dGatesRead, dHPrevRead, nameof(dGates), nameof(dHPrev), allowInPlace: false);
        Guard.NoPartialOverlap(dRecurrentRead, dHPrevRead, nameof(dRecurrent), nameof(dHPrev), allowInPlace: false);
        GruPointwise.Backward(ref MemoryMarshal.GetReference(gates), ref MemoryMarshal.GetReference(recurrent), ref MemoryMarshal.GetReference(hPrev),
            ref MemoryMarshal.GetReference(dH), ref MemoryMarshal.GetReference(dGates), ref MemoryMarshal.GetReference(dRecurrent),
            ref MemoryMarshal.GetReference(dHPrev), hiddenSize);
    }

    private static void CheckGruOutput(ReadOnlySpan<float> output, string outputName, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> dH)
    {
        Guard.NoPartialOverlap(gates, output, "gates", outputName, allowInPlace: false);
        Guard.NoPartialOverlap(recurrent, output, "recurrent", outputName, allowInPlace: false);
        Guard.NoPartialOverlap(hPrev, output, "hPrev", outputName, allowInPlace: false);
        Guard.NoPartialOverlap(dH, output, "dH", outputName, allowInPlace: false);
    }

    private static int GruHiddenSize(int gatesLength, string paramName)
    {
        if (gatesLength % 3 != 0)
            ThrowGruGates(gatesLength, paramName);
        return gatesLength / 3;
    }

    [DoesNotReturn]
    private static void ThrowGruGates(int length, string paramName) =>
        throw new ArgumentException($"Expected a length that is a multiple of 3 (3·hiddenSize, gate blocks r, z, n) but got {length}.", paramName);
}

/// <summary>
/// The GRU pointwise loops (gate q of unit j at q·stride + j), in the shape of <see cref="LstmPointwise"/>: whole Vector256
/// blocks, then at most one Vector128 block, then single elements. Every element is computed alone by operators that give
/// the same bits on every width, so the remainder matches what the main loop would have computed and any split of the
/// units gives the whole call's values. Each block loads all its inputs before it stores, and reads and writes only its
/// own units, so h = hPrev (in place) is safe: no block re-reads an element another block has written.
/// </summary>
internal static class GruPointwise
{
    /// <summary>Forward for units [<paramref name="start"/>, <paramref name="end"/>); h may be exactly hPrev.</summary>
    public static void ForwardRange(ref float gates, ref float recurrent, ref float hPrev, ref float h, nuint start, nuint end, nuint stride)
    {
        nuint j = start;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + (nuint)Vector256<float>.Count <= end; j += (nuint)Vector256<float>.Count)
                Forward256(ref gates, ref recurrent, ref hPrev, ref h, j, stride);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; j + (nuint)Vector128<float>.Count <= end; j += (nuint)Vector128<float>.Count)
                Forward128(ref gates, ref recurrent, ref hPrev, ref h, j, stride);
        }

        for (; j < end; j++)
            ForwardScalar(ref gates, ref recurrent, ref hPrev, ref h, j, stride);
    }

    public static void Backward(ref float gates, ref float recurrent, ref float hPrev, ref float dH, ref float dGates, ref float dRecurrent,
        ref float dHPrev, int hiddenSize)
    {
        nuint n = (nuint)hiddenSize;
        nuint j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + (nuint)Vector256<float>.Count <= n; j += (nuint)Vector256<float>.Count)
                Backward256(ref gates, ref recurrent, ref hPrev, ref dH, ref dGates, ref dRecurrent, ref dHPrev, j, n);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; j + (nuint)Vector128<float>.Count <= n; j += (nuint)Vector128<float>.Count)
                Backward128(ref gates, ref recurrent, ref hPrev, ref dH, ref dGates, ref dRecurrent, ref dHPrev, j, n);
        }

        for (; j < n; j++)
            BackwardScalar(ref gates, ref recurrent, ref hPrev, ref dH, ref dGates, ref dRecurrent, ref dHPrev, j, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Forward256(ref float gates, ref float recurrent, ref float hPrev, ref float h, nuint j, nuint n)
    {
        Vector256<float> r = SigmoidOperator.Invoke(Vector256.LoadUnsafe(ref gates, j) + Vector256.LoadUnsafe(ref recurrent, j));
        Vector256<float> z = SigmoidOperator.Invoke(Vector256.LoadUnsafe(ref gates, n + j) + Vector256.LoadUnsafe(ref recurrent, n + j));
        Vector256<float> candidate = TanhOperator.Invoke(
            MultiplyAdd.Invoke(r, Vector256.LoadUnsafe(ref recurrent, 2 * n + j), Vector256.LoadUnsafe(ref gates, 2 * n + j)));
        Vector256<float> previous = Vector256.LoadUnsafe(ref hPrev, j);
        r.StoreUnsafe(ref gates, j);
        z.StoreUnsafe(ref gates, n + j);
        candidate.StoreUnsafe(ref gates, 2 * n + j);
        MultiplyAdd.Invoke(z, previous - candidate, candidate).StoreUnsafe(ref h, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Forward128(ref float gates, ref float recurrent, ref float hPrev, ref float h, nuint j, nuint n)
    {
        Vector128<float> r = SigmoidOperator.Invoke(Vector128.LoadUnsafe(ref gates, j) + Vector128.LoadUnsafe(ref recurrent, j));
        Vector128<float> z = SigmoidOperator.Invoke(Vector128.LoadUnsafe(ref gates, n + j) + Vector128.LoadUnsafe(ref recurrent, n + j));
        Vector128<float> candidate = TanhOperator.Invoke(
            MultiplyAdd.Invoke(r, Vector128.LoadUnsafe(ref recurrent, 2 * n + j), Vector128.LoadUnsafe(ref gates, 2 * n + j)));
        Vector128<float> previous = Vector128.LoadUnsafe(ref hPrev, j);
        r.StoreUnsafe(ref gates, j);
        z.StoreUnsafe(ref gates, n + j);
        candidate.StoreUnsafe(ref gates, 2 * n + j);
        MultiplyAdd.Invoke(z, previous - candidate, candidate).StoreUnsafe(ref h, j);
    }

    private static void ForwardScalar(ref float gates, ref float recurrent, ref float hPrev, ref float h, nuint j, nuint n)
    {
        float r = SigmoidOperator.Invoke(Unsafe.Add(ref gates, j) + Unsafe.Add(ref recurrent, j));
        float z = SigmoidOperator.Invoke(Unsafe.Add(ref gates, n + j) + Unsafe.Add(ref recurrent, n + j));
        float candidate = TanhOperator.Invoke(MultiplyAdd.Invoke(r, Unsafe.Add(ref recurrent, 2 * n + j), Unsafe.Add(ref gates, 2 * n + j)));
        float previous = Unsafe.Add(ref hPrev, j);
        Unsafe.Add(ref gates, j) = r;
        Unsafe.Add(ref gates, n + j) = z;
        Unsafe.Add(ref gates, 2 * n + j) = candidate;
        Unsafe.Add(ref h, j) = MultiplyAdd.Invoke(z, previous - candidate, candidate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Backward256(ref float gates, ref float recurrent, ref float hPrev, ref float dH, ref float dGates, ref float dRecurrent,
        ref float dHPrev, nuint j, nuint n)
    {
        Vector256<float> r = Vector256.LoadUnsafe(ref gates, j);
        Vector256<float> z = Vector256.LoadUnsafe(ref gates, n + j);
        Vector256<float> candidate = Vector256.LoadUnsafe(ref gates, 2 * n + j);
        Vector256<float> dh = Vector256.LoadUnsafe(ref dH, j);
        Vector256<float> dn = dh * (Vector256<float>.One - z) * TanhDerivativeOperator.Invoke(candidate);
        Vector256<float> dr = dn * Vector256.LoadUnsafe(ref recurrent, 2 * n + j) * SigmoidDerivativeOperator.Invoke(r);
        Vector256<float> dz = dh * (Vector256.LoadUnsafe(ref hPrev, j) - candidate) * SigmoidDerivativeOperator.Invoke(z);
        dr.StoreUnsafe(ref dGates, j);
        dz.StoreUnsafe(ref dGates, n + j);
        dn.StoreUnsafe(ref dGates, 2 * n + j);
        dr.StoreUnsafe(ref dRecurrent, j);
        dz.StoreUnsafe(ref dRecurrent, n + j);
        (dn * r).StoreUnsafe(ref dRecurrent, 2 * n + j);
        (dh * z).StoreUnsafe(ref dHPrev, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Backward128(ref float gates, ref float recurrent, ref float hPrev, ref float dH, ref float dGates, ref float dRecurrent,
        ref float dHPrev, nuint j, nuint n)
    {
        Vector128<float> r = Vector128.LoadUnsafe(ref gates, j);
        Vector128<float> z = Vector128.LoadUnsafe(ref gates, n + j);
        Vector128<float> candidate = Vector128.LoadUnsafe(ref gates, 2 * n + j);
        Vector128<float> dh = Vector128.LoadUnsafe(ref dH, j);
        Vector128<float> dn = dh * (Vector128<float>.One - z) * TanhDerivativeOperator.Invoke(candidate);
        Vector128<float> dr = dn * Vector128.LoadUnsafe(ref recurrent, 2 * n + j) * SigmoidDerivativeOperator.Invoke(r);
        Vector128<float> dz = dh * (Vector128.LoadUnsafe(ref hPrev, j) - candidate) * SigmoidDerivativeOperator.Invoke(z);
        dr.StoreUnsafe(ref dGates, j);
        dz.StoreUnsafe(ref dGates, n + j);
        dn.StoreUnsafe(ref dGates, 2 * n + j);
        dr.StoreUnsafe(ref dRecurrent, j);
        dz.StoreUnsafe(ref dRecurrent, n + j);
        (dn * r).StoreUnsafe(ref dRecurrent, 2 * n + j);
        (dh * z).StoreUnsafe(ref dHPrev, j);
    }

    private static void BackwardScalar(ref float gates, ref float recurrent, ref float hPrev, ref float dH, ref float dGates, ref float dRecurrent,
        ref float dHPrev, nuint j, nuint n)
    {
        float r = Unsafe.Add(ref gates, j);
        float z = Unsafe.Add(ref gates, n + j);
        float candidate = Unsafe.Add(ref gates, 2 * n + j);
        float dh = Unsafe.Add(ref dH, j);
        float dn = dh * (1f - z) * TanhDerivativeOperator.Invoke(candidate);
        float dr = dn * Unsafe.Add(ref recurrent, 2 * n + j) * SigmoidDerivativeOperator.Invoke(r);
        float dz = dh * (Unsafe.Add(ref hPrev, j) - candidate) * SigmoidDerivativeOperator.Invoke(z);
        Unsafe.Add(ref dGates, j) = dr;
        Unsafe.Add(ref dGates, n + j) = dz;
        Unsafe.Add(ref dGates, 2 * n + j) = dn;
        Unsafe.Add(ref dRecurrent, j) = dr;
        Unsafe.Add(ref dRecurrent, n + j) = dz;
        Unsafe.Add(ref dRecurrent, 2 * n + j) = dn * r;
        Unsafe.Add(ref dHPrev, j) = dh * z;
    }
}
