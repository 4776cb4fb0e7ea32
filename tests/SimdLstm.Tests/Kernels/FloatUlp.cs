using System;

namespace SimdLstm.Tests.Kernels;

/// <summary>Distances between floats in units in the last place.</summary>
internal static class FloatUlp
{
    /// <summary>
    /// How many representable floats lie between <paramref name="actual"/> and the float nearest to
    /// <paramref name="exact"/> (0 = correctly rounded). Counts across zero (+0 and −0 are the same
    /// point). Returns long.MaxValue when exactly one of them is NaN.
    /// </summary>
    public static long Distance(float actual, double exact)
    {
        float rounded = (float)exact;
        if (float.IsNaN(actual) || float.IsNaN(rounded))
            return float.IsNaN(actual) && float.IsNaN(rounded) ? 0 : long.MaxValue;
        return Math.Abs(Ordinal(actual) - Ordinal(rounded));
    }

    /// <summary>Maps floats to integers monotonically, so subtraction counts the floats in between.</summary>
    private static long Ordinal(float value)
    {
        int bits = BitConverter.SingleToInt32Bits(value);
        return bits >= 0 ? bits : -(long)(bits & int.MaxValue);
    }

    /// <summary>The spacing of floats at <paramref name="value"/>'s binade (2^−149 for subnormals and zero).</summary>
    public static double Spacing(double value)
    {
        float f = MathF.Abs((float)value);
        if (float.IsInfinity(f) || float.IsNaN(f))
            return double.NaN;
        return (double)MathF.BitIncrement(f) - f;
    }
}
