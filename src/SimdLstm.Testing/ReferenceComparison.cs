using System;
using System.Globalization;

namespace SimdLstm.Testing;

/// <summary>The outcome of comparing a float tensor with its double reference.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="Length">Its number of elements.</param>
/// <param name="RelativeTolerance">The relative tolerance r used.</param>
/// <param name="AbsoluteTolerance">The absolute tolerance a used.</param>
/// <param name="WorstRatio">
/// The largest |actual − expected| / (a + r·|expected|) over all elements: at most 1 means every element is within
/// tolerance; +∞ when an actual value is NaN or infinite where the expected one is finite (or vice versa).
/// </param>
/// <param name="WorstIndex">The flat index of that element (−1 for an empty tensor).</param>
/// <param name="Actual">The float value at <paramref name="WorstIndex"/>.</param>
/// <param name="Expected">The double reference value at <paramref name="WorstIndex"/>.</param>
/// <param name="MaxAbsoluteDifference">The largest |actual − expected| over all elements.</param>
public sealed record ComparisonResult(
    string Name, int Length, double RelativeTolerance, double AbsoluteTolerance, double WorstRatio, int WorstIndex, float Actual, double Expected, double MaxAbsoluteDifference)
{
    /// <summary>True when every element satisfies |actual − expected| ≤ a + r·|expected|.</summary>
    public bool Passed => WorstRatio <= 1;

    /// <summary>One line: name, worst index with both values, the ratio to the allowance and the tolerances.</summary>
    /// <returns>The line, with round-trippable numbers.</returns>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Name}: worst [{WorstIndex}] actual {Actual:R} vs expected {Expected:R} (|diff| {Math.Abs(Actual - Expected):G3} = {WorstRatio:G3} × allowance {AbsoluteTolerance:G3} + {RelativeTolerance:G3}·|expected|), max |diff| {MaxAbsoluteDifference:G3} over {Length} elements");
}

/// <summary>
/// Compares a float result (a fast path) with a float64 reference element by element with a stated relative and
/// absolute tolerance: element k passes when |actual[k] − expected[k]| ≤ absoluteTolerance + relativeTolerance·|expected[k]|.
/// </summary>
/// <remarks>
/// The absolute term covers values near zero, where float rounding of the intermediate sums (not of the value itself)
/// dominates; the relative term covers the rest. NaN or ±∞ in either tensor fails unless both hold the identical value.
/// <code>
/// float[] output = fastLayer.Forward(...);            // [T, B, H]
/// double[] expected = reference.Forward(...).Output; // [T, B, H]
/// ReferenceComparison.AssertClose("output", output, expected, relativeTolerance: 1e-5, absoluteTolerance: 1e-6);
/// </code>
/// </remarks>
public static class ReferenceComparison
{
    /// <summary>Compares <paramref name="actual"/> with <paramref name="expected"/> and reports the worst element.</summary>
    /// <param name="name">The tensor's name, used in reports.</param>
    /// <param name="actual">The float values under test.</param>
    /// <param name="expected">The double reference; same length.</param>
    /// <param name="relativeTolerance">r ≥ 0.</param>
    /// <param name="absoluteTolerance">a ≥ 0; r + a must be positive.</param>
    /// <returns>The worst element and whether all passed.</returns>
    /// <exception cref="ArgumentException">The lengths differ or a tolerance is negative.</exception>
    public static ComparisonResult Compare(string name, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double relativeTolerance, double absoluteTolerance)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        SimdLstm.Guard.Length(actual.Length, expected.Length, nameof(actual));
        if (!(relativeTolerance >= 0))
            throw new ArgumentOutOfRangeException(nameof(relativeTolerance), relativeTolerance, "Expected a tolerance of zero or more.");
        if (!(absoluteTolerance >= 0) || !(relativeTolerance + absoluteTolerance > 0))
            throw new ArgumentOutOfRangeException(nameof(absoluteTolerance), absoluteTolerance, "Expected a tolerance of zero or more, with relative + absolute positive.");

        double worstRatio = -1, maxDifference = 0;
        int worstIndex = -1;
        for (int k = 0; k < actual.Length; k++)
        {
            double a = actual[k], e = expected[k];
            bool finite = double.IsFinite(a) && double.IsFinite(e);
            // Non-finite values pass only when identical (Equals treats NaN as equal to NaN); otherwise they are infinitely far off.
            double difference = finite ? Math.Abs(a - e) : a.Equals(e) ? 0 : double.PositiveInfinity;
            double ratio = finite ? difference / (absoluteTolerance + relativeTolerance * Math.Abs(e)) : difference;
            maxDifference = Math.Max(maxDifference, difference);
            if (ratio > worstRatio)
            {
                worstRatio = ratio;
                worstIndex = k;
            }
        }

        return new ComparisonResult(
            name, actual.Length, relativeTolerance, absoluteTolerance, Math.Max(worstRatio, 0), worstIndex,
            worstIndex >= 0 ? actual[worstIndex] : 0f, worstIndex >= 0 ? expected[worstIndex] : 0d, maxDifference);
    }

    /// <summary>
    /// Compares like <see cref="Compare"/> and throws a <see cref="ToleranceExceededException"/> naming the tensor,
    /// the worst index and both values when any element is out of tolerance.
    /// </summary>
    /// <param name="name">The tensor's name, used in the message.</param>
    /// <param name="actual">The float values under test.</param>
    /// <param name="expected">The double reference; same length.</param>
    /// <param name="relativeTolerance">r ≥ 0.</param>
    /// <param name="absoluteTolerance">a ≥ 0.</param>
    /// <returns>The comparison, for logging the margin of a passing check.</returns>
    /// <exception cref="ArgumentException">The lengths differ or a tolerance is negative.</exception>
    /// <exception cref="ToleranceExceededException">An element is out of tolerance.</exception>
    public static ComparisonResult AssertClose(string name, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double relativeTolerance, double absoluteTolerance)
    {
        ComparisonResult result = Compare(name, actual, expected, relativeTolerance, absoluteTolerance);
        if (!result.Passed)
            throw new ToleranceExceededException("Values out of tolerance: " + result);
        return result;
    }
}
