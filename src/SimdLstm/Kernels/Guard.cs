using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace SimdLstm;

/// <summary>
/// Argument validation shared by every public entry point. Each check throws an
/// <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>) that names the
/// parameter and states the expected and the actual shape, before anything has been written.
/// </summary>
internal static class Guard
{
    /// <summary>Requires <paramref name="actual"/> == <paramref name="expected"/> elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Length(int actual, int expected, string paramName)
    {
        if (actual != expected)
            ThrowLength(actual, expected, paramName);
    }

    /// <summary>Requires at least <paramref name="minimum"/> elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AtLeast(int actual, int minimum, string paramName)
    {
        if (actual < minimum)
            ThrowAtLeast(actual, minimum, paramName);
    }

    /// <summary>Requires a matrix span to hold a row-major [rows, cols] matrix with row stride <paramref name="stride"/>.</summary>
    public static void Matrix(int spanLength, int rows, int cols, int stride, string paramName, string strideName)
    {
        NonNegative(rows, nameof(rows));
        NonNegative(cols, nameof(cols));
        if (stride < Math.Max(cols, 1))
            ThrowStride(stride, cols, strideName);
        long needed = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * stride + cols;
        if (spanLength < needed)
            ThrowMatrix(spanLength, rows, cols, stride, needed, paramName);
    }

    /// <summary>Requires a size argument to be zero or positive.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NonNegative(int value, string paramName)
    {
        if (value < 0)
            ThrowNegative(value, paramName);
    }

    /// <summary>
    /// Requires that <paramref name="input"/> and <paramref name="destination"/> either do not overlap
    /// or are exactly the same memory (same start, same length) when <paramref name="allowInPlace"/>.
    /// A partial overlap would make the result depend on the order the kernel visits elements.
    /// </summary>
    public static void NoPartialOverlap(ReadOnlySpan<float> input, ReadOnlySpan<float> destination, string inputName, string destinationName, bool allowInPlace = true)
    {
        if (!input.Overlaps(destination, out int offset))
            return;
        if (allowInPlace && offset == 0 && input.Length == destination.Length)
            return;
        ThrowOverlap(inputName, destinationName, allowInPlace);
    }

    [DoesNotReturn]
    private static void ThrowLength(int actual, int expected, string paramName) =>
        throw new ArgumentException($"Expected length {expected} but got {actual}.", paramName);

    [DoesNotReturn]
    private static void ThrowAtLeast(int actual, int minimum, string paramName) =>
        throw new ArgumentException($"Expected length at least {minimum} but got {actual}.", paramName);

    [DoesNotReturn]
    private static void ThrowStride(int stride, int cols, string paramName) =>
        throw new ArgumentOutOfRangeException(paramName, stride, $"Expected a row stride of at least {Math.Max(cols, 1)} (the column count) but got {stride}.");

    [DoesNotReturn]
    private static void ThrowMatrix(int length, int rows, int cols, int stride, long needed, string paramName) =>
        throw new ArgumentException($"Expected a [{rows}, {cols}] matrix with row stride {stride} (at least {needed} elements) but got {length} elements.", paramName);

    [DoesNotReturn]
    private static void ThrowNegative(int value, string paramName) =>
        throw new ArgumentOutOfRangeException(paramName, value, "Expected a size of zero or more.");

    [DoesNotReturn]
    private static void ThrowOverlap(string inputName, string destinationName, bool allowInPlace) =>
        throw new ArgumentException(
            allowInPlace
                ? $"'{destinationName}' partially overlaps '{inputName}'; they must either not overlap or be exactly the same span."
                : $"'{destinationName}' overlaps '{inputName}'; they must not overlap.",
            destinationName);
}
