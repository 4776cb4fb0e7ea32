using System;

namespace SimdLstm;

public static partial class Kernels
{
    /// <summary>
    /// Logistic sigmoid: destination[k] = σ(x[k]) = 1 / (1 + e^−x[k]).
    /// </summary>
    /// <param name="x">The inputs.</param>
    /// <param name="destination">The outputs; length must equal <paramref name="x"/>'s. May be exactly <paramref name="x"/> (in place).</param>
    /// <remarks>
    /// <para>
    /// Accuracy against the exact value: at most 3e-7 absolute everywhere and at most 8 ulp for
    /// every input, including the negative tail x ∈ [−104, −87.3] where σ(x) is subnormal (there the
    /// ulp is the fixed subnormal spacing 2^−149). σ(x) rounds to 0 for x below about −103.97.
    /// </para>
    /// <para>
    /// Special values: σ(NaN) = NaN, σ(+∞) = 1, σ(−∞) = 0, σ(±0) = 0.5. The scalar, Vector128 and
    /// Vector256 paths give bitwise-identical results on a given machine; a processor without FMA
    /// instructions evaluates the multiply-adds unfused and may differ from one with FMA in the last
    /// bits (both within the bounds above).
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">Lengths differ, or the spans partially overlap.</exception>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> destination)
    {
        ValidateUnary(x, destination, nameof(x), nameof(destination));
        UnaryDriver.Apply<SigmoidOperator>(x, destination);
    }

    /// <summary>
    /// Hyperbolic tangent: destination[k] = tanh(x[k]).
    /// </summary>
    /// <param name="x">The inputs.</param>
    /// <param name="destination">The outputs; length must equal <paramref name="x"/>'s. May be exactly <paramref name="x"/> (in place).</param>
    /// <remarks>
    /// <para>
    /// Accuracy against the exact value: at most 3e-7 absolute everywhere and at most 8 ulp for
    /// every input (so also accurate relative to x near 0: tanh(x) = x for subnormal x). The result
    /// keeps the sign of x, including tanh(−0) = −0.
    /// </para>
    /// <para>
    /// Special values: tanh(NaN) = NaN, tanh(±∞) = ±1. The scalar, Vector128 and Vector256 paths give
    /// bitwise-identical results on a given machine (see <see cref="Sigmoid"/> for machines without FMA).
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">Lengths differ, or the spans partially overlap.</exception>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> destination)
    {
        ValidateUnary(x, destination, nameof(x), nameof(destination));
        UnaryDriver.Apply<TanhOperator>(x, destination);
    }

    /// <summary>
    /// Rectified linear unit: destination[k] = max(x[k], 0).
    /// </summary>
    /// <param name="x">The inputs.</param>
    /// <param name="destination">The outputs; length must equal <paramref name="x"/>'s. May be exactly <paramref name="x"/> (in place).</param>
    /// <remarks>Exact. x ≤ 0 (including −0 and −∞) gives +0; NaN gives NaN; +∞ gives +∞.</remarks>
    /// <exception cref="ArgumentException">Lengths differ, or the spans partially overlap.</exception>
    public static void Relu(ReadOnlySpan<float> x, Span<float> destination)
    {
        ValidateUnary(x, destination, nameof(x), nameof(destination));
        UnaryDriver.Apply<ReluOperator>(x, destination);
    }

    /// <summary>
    /// Derivative of the sigmoid from its output: destination[k] = s[k]·(1 − s[k]), where s = σ(x).
    /// </summary>
    /// <param name="sigmoid">Saved sigmoid outputs s.</param>
    /// <param name="destination">The derivatives; length must equal <paramref name="sigmoid"/>'s. May be exactly <paramref name="sigmoid"/> (in place).</param>
    /// <remarks>
    /// Evaluated as <c>s * (1 - s)</c> in float (two roundings: within about 1.5 ulp of the exact value
    /// of that expression for s in [0, 1]). NaN propagates.
    /// </remarks>
    /// <exception cref="ArgumentException">Lengths differ, or the spans partially overlap.</exception>
    public static void SigmoidDerivativeFromOutput(ReadOnlySpan<float> sigmoid, Span<float> destination)
    {
        ValidateUnary(sigmoid, destination, nameof(sigmoid), nameof(destination));
        UnaryDriver.Apply<SigmoidDerivativeOperator>(sigmoid, destination);
    }

    /// <summary>
    /// Derivative of tanh from its output: destination[k] = 1 − t[k]², where t = tanh(x).
    /// </summary>
    /// <param name="tanh">Saved tanh outputs t.</param>
    /// <param name="destination">The derivatives; length must equal <paramref name="tanh"/>'s. May be exactly <paramref name="tanh"/> (in place).</param>
    /// <remarks>
    /// Evaluated as <c>(1 - t) * (1 + t)</c> (three roundings at most, no cancellation as |t| → 1: 1 − t is
    /// exact for t ≥ 0.5), which needs no fused multiply-add and so gives the same bits on every machine. NaN propagates.
    /// </remarks>
    /// <exception cref="ArgumentException">Lengths differ, or the spans partially overlap.</exception>
    public static void TanhDerivativeFromOutput(ReadOnlySpan<float> tanh, Span<float> destination)
    {
        ValidateUnary(tanh, destination, nameof(tanh), nameof(destination));
        UnaryDriver.Apply<TanhDerivativeOperator>(tanh, destination);
    }

    /// <summary>
    /// Derivative of ReLU from its output: destination[k] = r[k] &gt; 0 ? 1 : 0, where r = max(x, 0).
    /// </summary>
    /// <param name="relu">Saved ReLU outputs r.</param>
    /// <param name="destination">The derivatives; length must equal <paramref name="relu"/>'s. May be exactly <paramref name="relu"/> (in place).</param>
    /// <remarks>Exact. The derivative at 0 is taken as 0 (as PyTorch does); NaN gives 0 (the comparison is false).</remarks>
    /// <exception cref="ArgumentException">Lengths differ, or the spans partially overlap.</exception>
    public static void ReluDerivativeFromOutput(ReadOnlySpan<float> relu, Span<float> destination)
    {
        ValidateUnary(relu, destination, nameof(relu), nameof(destination));
        UnaryDriver.Apply<ReluDerivativeOperator>(relu, destination);
    }

    /// <summary>Equal lengths, and the destination either disjoint from or exactly the input.</summary>
    private static void ValidateUnary(ReadOnlySpan<float> x, ReadOnlySpan<float> destination, string xName, string destinationName)
    {
        Guard.Length(destination.Length, x.Length, destinationName);
        Guard.NoPartialOverlap(x, destination, xName, destinationName);
    }
}
