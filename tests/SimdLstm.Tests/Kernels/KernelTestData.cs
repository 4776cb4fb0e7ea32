using System;
using System.Collections.Generic;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>Shared inputs and assertions for the pointwise kernel tests.</summary>
internal static class KernelTestData
{
    /// <summary>2^−24: half the spacing of floats in [1, 2), the unit roundoff of float arithmetic.</summary>
    public const double Eps = 1.0 / (1 << 24);

    /// <summary>
    /// Every length 0..257 (all vector remainders for Vector128 and Vector256, several main-loop
    /// trips) with the input at every start offset 0..7 and the output at a different offset each
    /// time (so both cover every 4-byte position of a 32-byte vector, independently).
    /// </summary>
    public static IEnumerable<(int Length, int InputOffset, int OutputOffset)> LengthsAndOffsets()
    {
        for (int n = 0; n <= 257; n++)
        {
            for (int o = 0; o < 8; o++)
                yield return (n, o, (o * 5 + 3) % 8);
        }
    }

    public static float[] Uniform(Random random, int length, double low, double high)
    {
        var values = new float[length];
        for (int k = 0; k < length; k++)
            values[k] = (float)(low + (high - low) * random.NextDouble());
        return values;
    }

    /// <summary>Asserts that <paramref name="act"/> throws an ArgumentException naming <paramref name="paramName"/> whose message states both lengths.</summary>
    public static void AssertLengthError(Action act, string paramName, int expected, int actual)
    {
        ArgumentException ex = Assert.ThrowsAny<ArgumentException>(act);
        Assert.Equal(paramName, ex.ParamName);
        Assert.Contains(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
        Assert.Contains(actual.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Asserts that <paramref name="act"/> throws an ArgumentException naming <paramref name="paramName"/>.</summary>
    public static void AssertArgumentError(Action act, string paramName)
    {
        ArgumentException ex = Assert.ThrowsAny<ArgumentException>(act);
        Assert.Equal(paramName, ex.ParamName);
    }

    public static void AssertAllEqual(float expected, float[] values)
    {
        foreach (float v in values)
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(v));
    }

    public static void AssertBitwiseEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int k = 0; k < expected.Length; k++)
        {
            if (BitConverter.SingleToInt32Bits(expected[k]) != BitConverter.SingleToInt32Bits(actual[k]))
                Assert.Fail($"{what}: element {k} of {expected.Length}: expected {expected[k]:R} but got {actual[k]:R}");
        }
    }

    /// <summary>Inserts NaN, ±∞, ±0 and subnormals at random positions.</summary>
    public static void SprinkleSpecials(Random random, float[] values)
    {
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon, 1e-40f, -3e-39f];
        for (int k = 0; k < values.Length; k++)
        {
            if (random.Next(4) == 0)
                values[k] = specials[random.Next(specials.Length)];
        }
    }
}
