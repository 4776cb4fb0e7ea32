using System;
using Xunit;

namespace SimdLstm.Tests;

/// <summary>
/// A float buffer whose usable span starts at a chosen element offset and is surrounded by guard
/// elements holding a sentinel. <see cref="AssertGuardsIntact"/> proves a kernel wrote nothing
/// outside the span it was given. Offsets 0..7 move the span across every 4-byte position of a
/// 32-byte vector, so unaligned starts are covered.
/// </summary>
internal sealed class GuardedBuffer
{
    /// <summary>Guard elements on each side: more than one Vector256 (8 floats) so an overrun by a whole vector is caught.</summary>
    public const int GuardLength = 16;

    /// <summary>An unusual finite value that no kernel computes by accident.</summary>
    public const float Sentinel = -7.654321e-29f;

    private readonly float[] _array;
    private readonly int _start;

    public GuardedBuffer(int length, int offset = 0)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
        Length = length;
        _start = GuardLength + offset;
        _array = new float[_start + length + GuardLength];
        _array.AsSpan().Fill(Sentinel);
    }

    public GuardedBuffer(ReadOnlySpan<float> values, int offset = 0)
        : this(values.Length, offset) => values.CopyTo(Span);

    public int Length { get; }

    public Span<float> Span => _array.AsSpan(_start, Length);

    public float[] ToArray() => Span.ToArray();

    public void AssertGuardsIntact()
    {
        for (int i = 0; i < _start; i++)
            Assert.True(BitConverter.SingleToInt32Bits(_array[i]) == BitConverter.SingleToInt32Bits(Sentinel), $"guard element {i - _start} before the span was overwritten with {_array[i]}");
        for (int i = _start + Length; i < _array.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(_array[i]) == BitConverter.SingleToInt32Bits(Sentinel), $"guard element {i - _start - Length} after the span was overwritten with {_array[i]}");
    }
}
