using System;

namespace SimdLstm.Testing;

/// <summary>
/// A small deterministic random source (SplitMix64) for test data: the same seed gives the same
/// numbers on every machine, runtime and ISA, so a failing property case can be replayed from the
/// seed it prints.
/// </summary>
/// <remarks>
/// SplitMix64 is the generator of Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators" (OOPSLA 2014): a Weyl sequence with increment 0x9E3779B97F4A7C15 passed through a
/// 64-bit mixing function. It is not cryptographic and is not meant to be.
/// <code>
/// var random = new SeededRandom(42);
/// double[] weights = random.Uniform(4 * 7 * 5, -0.5, 0.5); // e.g. weight_ih [4H, I] with H = 7, I = 5
/// int[] tokens = random.Tokens(8 * 3, vocabularySize: 11); // [T, B]
/// </code>
/// </remarks>
/// <param name="seed">Any value; equal seeds give equal sequences.</param>
public sealed class SeededRandom(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The next 64 uniformly distributed bits.</summary>
    /// <returns>A value in [0, 2^64).</returns>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A double uniform in [0, 1) with 53 random bits.</summary>
    /// <returns>k / 2^53 for a uniform integer k in [0, 2^53).</returns>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A double uniform in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    /// <param name="min">Inclusive lower bound.</param>
    /// <param name="max">Exclusive upper bound; must be at least <paramref name="min"/>.</param>
    /// <returns>min + (max − min)·u with u uniform in [0, 1).</returns>
    public double NextDouble(double min, double max)
    {
        ValidateRange(min, max);
        return min + (max - min) * NextDouble();
    }

    /// <summary>An integer uniform in [0, <paramref name="maxExclusive"/>).</summary>
    /// <param name="maxExclusive">The number of possible values; at least 1.</param>
    /// <returns>The high 64 bits of a 64×64-bit product (Lemire's multiply-shift; its bias is below 2^-32 here).</returns>
    public int NextInt32(int maxExclusive)
    {
        if (maxExclusive < 1)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "Expected at least 1 possible value.");
        return (int)Math.BigMul(NextUInt64(), (ulong)maxExclusive, out _);
    }

    /// <summary>A new array of <paramref name="length"/> doubles uniform in [<paramref name="min"/>, <paramref name="max"/>).</summary>
    /// <param name="length">Number of elements.</param>
    /// <param name="min">Inclusive lower bound.</param>
    /// <param name="max">Exclusive upper bound.</param>
    /// <returns>The values, drawn in index order.</returns>
    public double[] Uniform(int length, double min, double max)
    {
        SimdLstm.Guard.NonNegative(length, nameof(length));
        ValidateRange(min, max);
        var values = new double[length];
        for (int i = 0; i < values.Length; i++)
            values[i] = min + (max - min) * NextDouble();
        return values;
    }

    /// <summary>
    /// A new array of <paramref name="length"/> floats uniform in [<paramref name="min"/>, <paramref name="max"/>]:
    /// the doubles <see cref="Uniform"/> would draw, rounded to float (so a float model and a double
    /// reference can start from the same weights).
    /// </summary>
    /// <param name="length">Number of elements.</param>
    /// <param name="min">Lower bound.</param>
    /// <param name="max">Upper bound.</param>
    /// <returns>The values, drawn in index order.</returns>
    public float[] UniformSingle(int length, float min, float max)
    {
        double[] values = Uniform(length, min, max);
        var result = new float[length];
        for (int i = 0; i < result.Length; i++)
            result[i] = (float)values[i];
        return result;
    }

    /// <summary>
    /// A new array of <paramref name="length"/> floats from the standard normal distribution N(0, 1), by the Box–Muller
    /// transform of two uniforms per pair of values (an odd length drops the last pair's second value).
    /// </summary>
    /// <param name="length">Number of elements.</param>
    /// <returns>The values, drawn in index order.</returns>
    public float[] NormalSingle(int length)
    {
        SimdLstm.Guard.NonNegative(length, nameof(length));
        var values = new float[length];
        for (int i = 0; i < values.Length; i += 2)
        {
            // 1 − u lies in (0, 1], so the logarithm is finite.
            double radius = Math.Sqrt(-2 * Math.Log(1 - NextDouble())), angle = 2 * Math.PI * NextDouble();
            values[i] = (float)(radius * Math.Cos(angle));
            if (i + 1 < values.Length)
                values[i + 1] = (float)(radius * Math.Sin(angle));
        }
        return values;
    }

    /// <summary>A new array of <paramref name="length"/> tokens uniform in [0, <paramref name="vocabularySize"/>).</summary>
    /// <param name="length">Number of tokens, e.g. steps × batchSize for a time-major [T, B] sequence.</param>
    /// <param name="vocabularySize">Number of distinct tokens; at least 1.</param>
    /// <returns>The tokens, drawn in index order.</returns>
    public int[] Tokens(int length, int vocabularySize)
    {
        SimdLstm.Guard.NonNegative(length, nameof(length));
        if (vocabularySize < 1)
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), vocabularySize, "Expected a vocabulary of at least 1 token.");
        var tokens = new int[length];
        for (int i = 0; i < tokens.Length; i++)
            tokens[i] = NextInt32(vocabularySize);
        return tokens;
    }

    private static void ValidateRange(double min, double max)
    {
        if (!double.IsFinite(min))
            throw new ArgumentOutOfRangeException(nameof(min), min, "Expected a finite lower bound.");
        if (!double.IsFinite(max) || max < min)
            throw new ArgumentOutOfRangeException(nameof(max), max, $"Expected a finite upper bound of at least {min}.");
    }
}
