using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

public static partial class Kernels
{
    /// <summary>
    /// Softmax: destination[k] = e^(x[k] − m) / Σⱼ e^(x[j] − m), with m = maxⱼ x[j].
    /// </summary>
    /// <param name="logits">The logits x.</param>
    /// <param name="destination">The probabilities; length must equal <paramref name="logits"/>'s. May be exactly <paramref name="logits"/> (in place).</param>
    /// <remarks>
    /// <para>
    /// Subtracting the maximum keeps every exponent ≤ 0, so the result is finite for any finite
    /// logits (a logit of 1e30 gives probability 1 there, 0 elsewhere). Evaluated as e[k] = exp(x[k] − m)
    /// with the same exp as <see cref="Sigmoid"/>, S = Σe (fixed order: a function of the length and
    /// the ISA path), destination[k] = e[k]·(1/S). Relative error per element is about
    /// (n + 20 + |x[k] − m|)·2^−24, the last term from rounding x[k] − m.
    /// </para>
    /// <para>
    /// Non-finite logits: any NaN → all NaN. If some logits are +∞, they share the probability
    /// equally (the limit of softmax) and all others get 0. −∞ logits get 0; if every logit is −∞
    /// the distribution is undefined and all outputs are NaN. An empty span is a no-op.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">The lengths differ, or the spans partially overlap.</exception>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> destination)
    {
        ValidateUnary(logits, destination, nameof(logits), nameof(destination));
        if (logits.Length == 0)
            return;
        float max = TensorPrimitives.Max(logits);
        if (!float.IsFinite(max))
        {
            NonFiniteSoftmax(logits, destination, max, log: false);
            return;
        }

        float sum = SoftmaxCore.ExpShifted(logits, max, destination, store: true);
        TensorPrimitives.Multiply(destination, 1f / sum, destination);
    }

    /// <summary>
    /// Log-softmax: destination[k] = (x[k] − m) − log Σⱼ e^(x[j] − m), with m = maxⱼ x[j].
    /// </summary>
    /// <param name="logits">The logits x.</param>
    /// <param name="destination">The log-probabilities; length must equal <paramref name="logits"/>'s. May be exactly <paramref name="logits"/> (in place).</param>
    /// <remarks>
    /// <para>
    /// Finite for any finite logits. The log of the sum (≥ 1) is taken once, in double; absolute error
    /// per element is about (n + 20 + 2|x[k] − m| + 2·log S)·2^−24.
    /// </para>
    /// <para>
    /// Non-finite logits follow <see cref="Softmax"/>: NaN anywhere → all NaN; with +∞ logits present
    /// those get −log(count of +∞) and the rest −∞; −∞ logits give −∞; all −∞ → all NaN.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">The lengths differ, or the spans partially overlap.</exception>
    public static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> destination)
    {
        ValidateUnary(logits, destination, nameof(logits), nameof(destination));
        if (logits.Length == 0)
            return;
        float max = TensorPrimitives.Max(logits);
        if (!float.IsFinite(max))
        {
            NonFiniteSoftmax(logits, destination, max, log: true);
            return;
        }

        float sum = SoftmaxCore.ExpShifted(logits, max, destination, store: false);
        float logSum = (float)Math.Log(sum);
        TensorPrimitives.Subtract(logits, max, destination);
        TensorPrimitives.Subtract(destination, logSum, destination);
    }

    /// <summary>
    /// Softmax cross-entropy for one example: returns −log softmax(x)[target] and writes
    /// dLogits = gradientScale·(softmax(x) − onehot(target)), the gradient of gradientScale·loss.
    /// </summary>
    /// <param name="logits">The logits x.</param>
    /// <param name="target">The index of the correct class, in [0, logits.Length).</param>
    /// <param name="dLogits">The gradient; length must equal <paramref name="logits"/>'s. May be exactly <paramref name="logits"/> (in place).</param>
    /// <param name="gradientScale">Multiplies the gradient (e.g. 1/batchSize for a batch mean); does not scale the returned loss.</param>
    /// <returns>The loss log Σⱼ e^(x[j] − m) − (x[target] − m), evaluated in double from the float sum and rounded once.</returns>
    /// <remarks>
    /// <para>
    /// Via log-sum-exp, so the loss is finite for finite logits whenever its exact value is within
    /// float range (a logit of 1e30 on a wrong class gives a loss of about 1e30, not ∞ or NaN).
    /// With p = <see cref="Softmax"/>(x): dLogits[k] = gradientScale·p[k] for k ≠ target and
    /// gradientScale·(p[target] − 1) at the target, so Σ dLogits ≈ 0.
    /// </para>
    /// <para>
    /// Non-finite logits follow <see cref="Softmax"/>: NaN anywhere → NaN loss and NaN gradient; with
    /// +∞ logits present the loss is log(count of +∞) if the target is +∞, else +∞; all −∞ → NaN.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">The lengths differ, or the spans partially overlap.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="target"/> is outside [0, logits.Length).</exception>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, int target, Span<float> dLogits, float gradientScale = 1f)
    {
        ValidateUnary(logits, dLogits, nameof(logits), nameof(dLogits));
        if ((uint)target >= (uint)logits.Length)
            ThrowTarget(target, logits.Length);

        // Read before anything is written: dLogits may be the logits themselves.
        float targetLogit = logits[target];
        float max = TensorPrimitives.Max(logits);
        float loss;
        if (!float.IsFinite(max))
        {
            int infinities = NonFiniteSoftmax(logits, dLogits, max, log: false);
            if (infinities == 0)
                loss = float.NaN;
            else
                loss = float.IsPositiveInfinity(targetLogit) ? (float)Math.Log(infinities) : float.PositiveInfinity;
        }
        else
        {
            float sum = SoftmaxCore.ExpShifted(logits, max, dLogits, store: true);
            loss = (float)(Math.Log(sum) - ((double)targetLogit - max));
            TensorPrimitives.Multiply(dLogits, 1f / sum, dLogits);
        }

        float pTarget = dLogits[target];
        if (gradientScale != 1f)
            TensorPrimitives.Multiply(dLogits, gradientScale, dLogits);
        dLogits[target] = gradientScale * (pTarget - 1f);
        return loss;
    }

    /// <summary>The documented policy when the maximum logit is NaN or ±∞. Returns the number of +∞ logits.</summary>
    private static int NonFiniteSoftmax(ReadOnlySpan<float> logits, Span<float> destination, float max, bool log)
    {
        if (float.IsNaN(max) || float.IsNegativeInfinity(max))
        {
            destination.Fill(float.NaN);
            return 0;
        }

        // max is +∞: the limit of softmax puts equal mass on the +∞ logits.
        int count = 0;
        foreach (float v in logits)
        {
            if (float.IsPositiveInfinity(v))
                count++;
        }

        float share = log ? (float)-Math.Log(count) : 1f / count;
        float rest = log ? float.NegativeInfinity : 0f;
        for (int k = 0; k < logits.Length; k++)
            destination[k] = float.IsPositiveInfinity(logits[k]) ? share : rest;
        return count;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowTarget(int target, int length) =>
        throw new ArgumentOutOfRangeException(nameof(target), target, $"Expected a class index in [0, {length}) (the logits length) but got {target}.");
}

/// <summary>The shared exp-and-sum pass of the softmax family.</summary>
internal static class SoftmaxCore
{
    /// <summary>
    /// Returns Σ exp(x[k] − shift) and, when <paramref name="store"/>, writes each term to
    /// <paramref name="destination"/> (which may be exactly <paramref name="x"/>). The summation order
    /// is a function of the length and the ISA path: one vector accumulator over whole vectors, its
    /// lanes added in a fixed order, then the remaining elements in order.
    /// </summary>
    public static float ExpShifted(ReadOnlySpan<float> x, float shift, Span<float> destination, bool store)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        int n = x.Length;
        nuint i = 0;
        float sum = 0f;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            (i, sum) = ExpShifted256(ref xr, ref dr, n, shift, store);
        }
        else if (Vector128.IsHardwareAccelerated && n >= Vector128<float>.Count)
        {
            (i, sum) = ExpShifted128(ref xr, ref dr, n, shift, store);
        }

        for (; i < (nuint)n; i++)
        {
            float e = ExpNonPositive.Invoke(Unsafe.Add(ref xr, i) - shift);
            if (store)
                Unsafe.Add(ref dr, i) = e;
            sum += e;
        }

        return sum;
    }

    private static (nuint Next, float Sum) ExpShifted256(ref float xr, ref float dr, int n, float shift, bool store)
    {
        Vector256<float> acc = Vector256<float>.Zero;
        Vector256<float> s = Vector256.Create(shift);
        nuint i = 0;
        for (; i + (nuint)Vector256<float>.Count <= (nuint)n; i += (nuint)Vector256<float>.Count)
        {
            Vector256<float> e = ExpNonPositive.Invoke(Vector256.LoadUnsafe(ref xr, i) - s);
            if (store)
                e.StoreUnsafe(ref dr, i);
            acc += e;
        }

        Vector128<float> half = acc.GetLower() + acc.GetUpper();
        return (i, (half.GetElement(0) + half.GetElement(1)) + (half.GetElement(2) + half.GetElement(3)));
    }

    private static (nuint Next, float Sum) ExpShifted128(ref float xr, ref float dr, int n, float shift, bool store)
    {
        Vector128<float> acc = Vector128<float>.Zero;
        Vector128<float> s = Vector128.Create(shift);
        nuint i = 0;
        for (; i + (nuint)Vector128<float>.Count <= (nuint)n; i += (nuint)Vector128<float>.Count)
        {
            Vector128<float> e = ExpNonPositive.Invoke(Vector128.LoadUnsafe(ref xr, i) - s);
            if (store)
                e.StoreUnsafe(ref dr, i);
            acc += e;
        }

        return (i, (acc.GetElement(0) + acc.GetElement(1)) + (acc.GetElement(2) + acc.GetElement(3)));
    }
}
