using System;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// A row-major [rows, cols] matrix with row stride <see cref="Stride"/> living in a <see cref="GuardedBuffer"/>
/// at an element offset. The stride padding between rows holds a chosen fill value: NaN for inputs (a kernel
/// that folds padding into a result then produces NaN and fails), the guard sentinel for outputs (so a write
/// into the padding is detected by <see cref="AssertPaddingIntact"/>).
/// </summary>
internal sealed class GemmTestMatrix
{
    private readonly GuardedBuffer _buffer;
    private readonly float _padding;

    public GemmTestMatrix(int rows, int cols, int stride, int offset, Random random, float padding)
    {
        Rows = rows;
        Cols = cols;
        Stride = stride;
        _padding = padding;
        int length = rows == 0 || cols == 0 ? 0 : (rows - 1) * stride + cols;
        _buffer = new GuardedBuffer(length, offset);
        Span<float> span = _buffer.Span;
        span.Fill(padding);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
                span[r * stride + c] = NextValue(random);
        }
    }

    public int Rows { get; }

    public int Cols { get; }

    public int Stride { get; }

    public Span<float> Span => _buffer.Span;

    public float this[int row, int col]
    {
        get => _buffer.Span[row * Stride + col];
        set => _buffer.Span[row * Stride + col] = value;
    }

    /// <summary>Uniform in [-1, 1): values of mixed sign, so sums cancel and relative accuracy is really tested.</summary>
    public static float NextValue(Random random) => (float)(random.NextDouble() * 2 - 1);

    public static float[] RandomVector(int length, Random random)
    {
        var v = new float[length];
        for (int i = 0; i < length; i++)
            v[i] = NextValue(random);
        return v;
    }

    public void AssertPaddingIntact()
    {
        _buffer.AssertGuardsIntact();
        int paddingBits = BitConverter.SingleToInt32Bits(_padding);
        Span<float> span = _buffer.Span;
        // An empty matrix (rows or cols 0) occupies no elements, so it has no padding either.
        for (int r = 0; Cols > 0 && r + 1 < Rows; r++)
        {
            for (int c = Cols; c < Stride; c++)
            {
                Assert.True(
                    BitConverter.SingleToInt32Bits(span[r * Stride + c]) == paddingBits,
                    $"stride padding after row {r}, column {c} was overwritten with {span[r * Stride + c]}");
            }
        }
    }

    /// <summary>
    /// Asserts |actual − expected| ≤ terms · 2⁻²⁴ · magnitude · 1.01, where magnitude is the sum of the absolute
    /// values of every term (products and the initial value) that went into the result. This is the
    /// classical worst-case bound for any order of float summation of that many terms (Higham, Accuracy and
    /// Stability of Numerical Algorithms, 2nd ed., §3.1: |error| ≤ γₙ Σ|xᵢyᵢ|, γₙ = n·u/(1 − n·u), u = 2⁻²⁴);
    /// the factor 1.01 covers the 1/(1 − n·u) term for n far beyond any size tested here. It holds for
    /// every blocking, vector width and FMA use, yet an indexing mistake misses by a whole term.
    /// </summary>
    public static void AssertClose(double expected, double magnitude, float actual, int terms, string label)
    {
        double tolerance = terms * Math.Pow(2, -24) * magnitude * 1.01;
        double error = Math.Abs(actual - expected);
        Assert.True(error <= tolerance, $"{label}: expected {expected:R}, got {actual:R}, error {error:E3} > tolerance {tolerance:E3}");
    }
}
