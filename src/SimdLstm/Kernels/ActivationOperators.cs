using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SimdLstm;

// The activation operators. Each is written three times (float, Vector128, Vector256) with the
// same sequence of IEEE operations: multiply-adds through MultiplyAdd (fused wherever the processor
// has FMA, on every width alike), correctly rounded +, -, *, /, and exact bit manipulations. Every
// lane therefore rounds exactly like the scalar code, which is what makes the scalar, Vector128 and
// Vector256 results bitwise identical on a given machine.

/// <summary>
/// e^z for z ≤ 0 (the only range the activations and softmax need), including subnormal results.
/// </summary>
/// <remarks>
/// <para>
/// Range reduction z = n·ln2 + r with n ≈ round(z·log2 e), |r| ≲ ln2/2, in Cody-Waite form: ln2hi =
/// 0.693359375 has 9 significant bits, so n·ln2hi is exact for |n| ≤ 152 and z − n·ln2hi is exact
/// too (fused or not); the low part ln2 − ln2hi is then applied with at most two roundings.
/// </para>
/// <para>
/// e^r is a degree-7 polynomial: Chebyshev interpolation of e^r on [−0.35, 0.35] at 8 nodes,
/// re-expanded in powers of r and rounded to float; in exact arithmetic it is within 2.3e-9
/// relative of e^r on that interval (well under one float ulp), so the result's error is dominated
/// by the FMA roundings of the Horner evaluation.
/// </para>
/// <para>
/// The scaling by 2^n is split into two exact power-of-two multiplies 2^⌊n/2⌋·2^(n−⌊n/2⌋), each
/// factor a normal float, so a subnormal result is rounded once (by the last multiply) instead of
/// being flushed or double rounded. Inputs are clamped to [−105, 0]: e^−105 ≈ 2.5e-46 already rounds
/// to 0, so the clamp changes no result but keeps n within [−152, 0].
/// </para>
/// </remarks>
internal static class ExpNonPositive
{
    public const float MinArgument = -105f;
    private const float Log2E = 1.44269502f;

    // 1.5·2^23: adding it to a value v with |v| < 2^22 rounds v to an integer (ties to even) and
    // leaves that integer in the low mantissa bits.
    private const float RoundingMagic = 12582912f;
    private const int RoundingMagicBits = 0x4B400000;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float C2 = 0.5f;
    private const float C3 = 0.166666672f;
    private const float C4 = 0.0416661985f;
    private const float C5 = 0.00833328161f;
    private const float C6 = 0.00139497663f;
    private const float C7 = 0.000199088885f;

    /// <summary>e^z for z ≤ 0 or z = −∞. NaN in gives an unspecified value: callers handle NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float z)
    {
        z = z < MinArgument ? MinArgument : z;
        float k = MultiplyAdd.Invoke(z, Log2E, RoundingMagic);
        int n = BitConverter.SingleToInt32Bits(k) - RoundingMagicBits;
        float nf = k - RoundingMagic;
        float r = MultiplyAdd.Invoke(nf, -Ln2Hi, z);
        r = MultiplyAdd.Invoke(nf, -Ln2Lo, r);
        float p = MultiplyAdd.Invoke(C7, r, C6);
        p = MultiplyAdd.Invoke(p, r, C5);
        p = MultiplyAdd.Invoke(p, r, C4);
        p = MultiplyAdd.Invoke(p, r, C3);
        p = MultiplyAdd.Invoke(p, r, C2);
        p = MultiplyAdd.Invoke(p, r, 1f);
        p = MultiplyAdd.Invoke(p, r, 1f);
        int n1 = n >> 1;
        int n2 = n - n1;
        float s1 = BitConverter.Int32BitsToSingle((n1 + 127) << 23);
        float s2 = BitConverter.Int32BitsToSingle((n2 + 127) << 23);
        return p * s1 * s2;
    }

    /// <inheritdoc cref="Invoke(float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> z)
    {
        // MaxNative is a single maxps; for NaN it returns the bound, and callers restore NaN.
        z = Vector128.MaxNative(z, Vector128.Create(MinArgument));
        Vector128<float> k = MultiplyAdd.Invoke(z, Vector128.Create(Log2E), Vector128.Create(RoundingMagic));
        Vector128<int> n = k.AsInt32() - Vector128.Create(RoundingMagicBits);
        Vector128<float> nf = k - Vector128.Create(RoundingMagic);
        Vector128<float> r = MultiplyAdd.Invoke(nf, Vector128.Create(-Ln2Hi), z);
        r = MultiplyAdd.Invoke(nf, Vector128.Create(-Ln2Lo), r);
        Vector128<float> p = MultiplyAdd.Invoke(Vector128.Create(C7), r, Vector128.Create(C6));
        p = MultiplyAdd.Invoke(p, r, Vector128.Create(C5));
        p = MultiplyAdd.Invoke(p, r, Vector128.Create(C4));
        p = MultiplyAdd.Invoke(p, r, Vector128.Create(C3));
        p = MultiplyAdd.Invoke(p, r, Vector128.Create(C2));
        p = MultiplyAdd.Invoke(p, r, Vector128<float>.One);
        p = MultiplyAdd.Invoke(p, r, Vector128<float>.One);
        Vector128<int> n1 = Vector128.ShiftRightArithmetic(n, 1);
        Vector128<int> n2 = n - n1;
        Vector128<float> s1 = Vector128.ShiftLeft(n1 + Vector128.Create(127), 23).AsSingle();
        Vector128<float> s2 = Vector128.ShiftLeft(n2 + Vector128.Create(127), 23).AsSingle();
        return p * s1 * s2;
    }

    /// <inheritdoc cref="Invoke(float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> z)
    {
        z = Vector256.MaxNative(z, Vector256.Create(MinArgument));
        Vector256<float> k = MultiplyAdd.Invoke(z, Vector256.Create(Log2E), Vector256.Create(RoundingMagic));
        Vector256<int> n = k.AsInt32() - Vector256.Create(RoundingMagicBits);
        Vector256<float> nf = k - Vector256.Create(RoundingMagic);
        Vector256<float> r = MultiplyAdd.Invoke(nf, Vector256.Create(-Ln2Hi), z);
        r = MultiplyAdd.Invoke(nf, Vector256.Create(-Ln2Lo), r);
        Vector256<float> p = MultiplyAdd.Invoke(Vector256.Create(C7), r, Vector256.Create(C6));
        p = MultiplyAdd.Invoke(p, r, Vector256.Create(C5));
        p = MultiplyAdd.Invoke(p, r, Vector256.Create(C4));
        p = MultiplyAdd.Invoke(p, r, Vector256.Create(C3));
        p = MultiplyAdd.Invoke(p, r, Vector256.Create(C2));
        p = MultiplyAdd.Invoke(p, r, Vector256<float>.One);
        p = MultiplyAdd.Invoke(p, r, Vector256<float>.One);
        Vector256<int> n1 = Vector256.ShiftRightArithmetic(n, 1);
        Vector256<int> n2 = n - n1;
        Vector256<float> s1 = Vector256.ShiftLeft(n1 + Vector256.Create(127), 23).AsSingle();
        Vector256<float> s2 = Vector256.ShiftLeft(n2 + Vector256.Create(127), 23).AsSingle();
        return p * s1 * s2;
    }
}

/// <summary>σ(x) = 1 / (1 + e^−x); NaN → NaN, σ(+∞) = 1, σ(−∞) = 0.</summary>
/// <remarks>
/// With t = e^−|x| (never overflows): σ(x) = 1/(1 + t) for x ≥ 0 and t/(1 + t) for x &lt; 0. The second
/// form is what keeps the negative tail accurate down to subnormal results, where the naive
/// 1/(1 + e^−x) would overflow e^−x and return 0 for x &lt; −88.
/// </remarks>
internal readonly struct SigmoidOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        if (float.IsNaN(x))
            return x;
        float t = ExpNonPositive.Invoke(-MathF.Abs(x));
        float numerator = x < 0f ? t : 1f;
        return numerator / (1f + t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        Vector128<float> t = ExpNonPositive.Invoke(-Vector128.Abs(x));
        Vector128<float> numerator = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), t, Vector128<float>.One);
        Vector128<float> s = numerator / (Vector128<float>.One + t);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), s, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        Vector256<float> t = ExpNonPositive.Invoke(-Vector256.Abs(x));
        Vector256<float> numerator = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), t, Vector256<float>.One);
        Vector256<float> s = numerator / (Vector256<float>.One + t);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), s, x);
    }
}

/// <summary>tanh(x); odd (keeps the sign of x, including −0), NaN → NaN, tanh(±∞) = ±1.</summary>
/// <remarks>
/// <para>
/// For |x| &lt; 0.625: tanh(x) = x + x³·P(x²), P of degree 5 from Chebyshev interpolation of
/// (tanh x − x)/x³ over x² ∈ [0, 0.625²], within 4.3e-9 relative of tanh in exact arithmetic (with the
/// float coefficients). This branch is accurate relative to x all the way down: for tiny or subnormal
/// x the correction underflows and the result is x itself.
/// </para>
/// <para>
/// For |x| ≥ 0.625: tanh|x| = (1 − t)/(1 + t) with t = e^−2|x| ≤ e^−1.25 ≈ 0.29, so 1 − t does not cancel
/// badly: the relative error of t reaches the result damped by t/(1 − t) ≤ 0.4.
/// </para>
/// </remarks>
internal readonly struct TanhOperator : IUnaryOperator
{
    private const float PolynomialLimit = 0.625f;
    private const float P0 = -0.333333343f;
    private const float P1 = 0.133333042f;
    private const float P2 = -0.0539592579f;
    private const float P3 = 0.0217689183f;
    private const float P4 = -0.00834394526f;
    private const float P5 = 0.00229274505f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        if (float.IsNaN(x))
            return x;
        float ax = MathF.Abs(x);
        float r;
        if (ax < PolynomialLimit)
        {
            float u = ax * ax;
            float p = MultiplyAdd.Invoke(P5, u, P4);
            p = MultiplyAdd.Invoke(p, u, P3);
            p = MultiplyAdd.Invoke(p, u, P2);
            p = MultiplyAdd.Invoke(p, u, P1);
            p = MultiplyAdd.Invoke(p, u, P0);
            r = MultiplyAdd.Invoke(ax * u, p, ax);
        }
        else
        {
            float t = ExpNonPositive.Invoke(-2f * ax);
            r = (1f - t) / (1f + t);
        }

        return MathF.CopySign(r, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        Vector128<float> ax = Vector128.Abs(x);
        Vector128<float> u = ax * ax;
        Vector128<float> p = MultiplyAdd.Invoke(Vector128.Create(P5), u, Vector128.Create(P4));
        p = MultiplyAdd.Invoke(p, u, Vector128.Create(P3));
        p = MultiplyAdd.Invoke(p, u, Vector128.Create(P2));
        p = MultiplyAdd.Invoke(p, u, Vector128.Create(P1));
        p = MultiplyAdd.Invoke(p, u, Vector128.Create(P0));
        Vector128<float> small = MultiplyAdd.Invoke(ax * u, p, ax);
        Vector128<float> t = ExpNonPositive.Invoke(Vector128.Create(-2f) * ax);
        Vector128<float> large = (Vector128<float>.One - t) / (Vector128<float>.One + t);
        Vector128<float> r = Vector128.ConditionalSelect(Vector128.LessThan(ax, Vector128.Create(PolynomialLimit)), small, large);
        Vector128<float> signMask = Vector128.Create(-0f);
        r = (r & ~signMask) | (x & signMask);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), r, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        Vector256<float> ax = Vector256.Abs(x);
        Vector256<float> u = ax * ax;
        Vector256<float> p = MultiplyAdd.Invoke(Vector256.Create(P5), u, Vector256.Create(P4));
        p = MultiplyAdd.Invoke(p, u, Vector256.Create(P3));
        p = MultiplyAdd.Invoke(p, u, Vector256.Create(P2));
        p = MultiplyAdd.Invoke(p, u, Vector256.Create(P1));
        p = MultiplyAdd.Invoke(p, u, Vector256.Create(P0));
        Vector256<float> small = MultiplyAdd.Invoke(ax * u, p, ax);
        Vector256<float> t = ExpNonPositive.Invoke(Vector256.Create(-2f) * ax);
        Vector256<float> large = (Vector256<float>.One - t) / (Vector256<float>.One + t);
        Vector256<float> r = Vector256.ConditionalSelect(Vector256.LessThan(ax, Vector256.Create(PolynomialLimit)), small, large);
        Vector256<float> signMask = Vector256.Create(-0f);
        r = (r & ~signMask) | (x & signMask);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), r, x);
    }
}

/// <summary>max(x, 0), returning +0 for x ≤ 0 (including −0) and NaN for NaN.</summary>
internal readonly struct ReluOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => x <= 0f ? 0f : x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) =>
        Vector128.ConditionalSelect(Vector128.LessThanOrEqual(x, Vector128<float>.Zero), Vector128<float>.Zero, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.Zero, x);
}

/// <summary>σ' from the output s: s·(1 − s), evaluated as written (two roundings).</summary>
internal readonly struct SigmoidDerivativeOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float s) => s * (1f - s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> s) => s * (Vector128<float>.One - s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> s) => s * (Vector256<float>.One - s);
}

/// <summary>
/// tanh' from the output t: 1 − t², evaluated as (1 − t)·(1 + t). Unlike 1 − t·t this does not lose
/// accuracy to cancellation when |t| → 1 without a fused multiply-add (1 − t is exact for t in
/// [0.5, 2]), and it needs no FMA, so it gives the same bits on every machine: within 3 roundings.
/// </summary>
internal readonly struct TanhDerivativeOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float t) => (1f - t) * (1f + t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> t) => (Vector128<float>.One - t) * (Vector128<float>.One + t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> t) => (Vector256<float>.One - t) * (Vector256<float>.One + t);
}

/// <summary>ReLU' from the output r: 1 where r &gt; 0, else 0 (so 0 for r = NaN).</summary>
internal readonly struct ReluDerivativeOperator : IUnaryOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float r) => r > 0f ? 1f : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> r) =>
        Vector128.GreaterThan(r, Vector128<float>.Zero) & Vector128<float>.One;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> r) =>
        Vector256.GreaterThan(r, Vector256<float>.Zero) & Vector256<float>.One;
}
