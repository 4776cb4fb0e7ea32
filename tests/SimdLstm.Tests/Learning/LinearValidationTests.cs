using System;
using System.Linq;
using Xunit;

namespace SimdLstm.Tests.Learning;

/// <summary>
/// The head's entry points validate before they write: outputs overlapping the weights, the gradients or the inputs are
/// refused naming both, too many rows are an <see cref="ArgumentOutOfRangeException"/> naming <c>rows</c>, and every
/// buffer is unchanged after the throw.
/// </summary>
public sealed class LinearValidationTests
{
    private const int In = 3, Out = 4, Rows = 2;

    /// <summary>One buffer holding the weights [4, 3], the bias [4] and then free space, so outputs can be placed over any of them.</summary>
    private static (Linear Layer, ParameterBuffer Buffer, float[] Scratch) Create()
    {
        var buffer = new ParameterBuffer(Linear.Layout(In, Out).Append(("scratch", new[] { 64 })));
        var random = new Random(5);
        for (int i = 0; i < buffer.Length; i++)
            buffer.Span[i] = (float)random.NextDouble() - 0.5f;
        return (new Linear(In, Out, buffer), buffer, new float[64]);
    }

    [Fact]
    public void Forward_OutputOverWeightsOrBias_ThrowsNamingThemAndWritesNothing()
    {
        (Linear layer, ParameterBuffer buffer, _) = Create();
        float[] x = Enumerable.Range(0, Rows * In).Select(i => i * 0.1f).ToArray();
        float[] before = buffer.Span.ToArray();
        // y starts inside fc.weight (and runs into fc.bias); then y is exactly the bias plus what follows.
        var e = Assert.Throws<ArgumentException>(() => layer.Forward(x, Rows, buffer.Span.Slice(4, Rows * Out)));
        Assert.Equal("y", e.ParamName);
        Assert.Contains("'fc.weight'", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => layer.Forward(x, Rows, buffer.Span.Slice(In * Out, Rows * Out)));
        Assert.Contains("'fc.bias'", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, buffer.Span.ToArray());
    }

    [Fact]
    public void Backward_OutputsOverWeightsGradientsOrInputs_ThrowAndWriteNothing()
    {
        (Linear layer, ParameterBuffer buffer, _) = Create();
        var gradientBuffer = new ParameterBuffer(Linear.Layout(In, Out).Append(("scratch", new[] { 64 })));
        var gradients = new Linear(In, Out, gradientBuffer);
        float[] x = Enumerable.Range(0, Rows * In).Select(i => i * 0.1f).ToArray();
        float[] dY = Enumerable.Range(0, Rows * Out).Select(i => 0.05f * i - 0.2f).ToArray();
        float[] weights = buffer.Span.ToArray(), grads = gradientBuffer.Span.ToArray(), xCopy = x.ToArray(), dYCopy = dY.ToArray();

        // dX over the weights: before, the weight gradient was accumulated and then the kernel threw naming its 'c'.
        var e = Assert.Throws<ArgumentException>(() => layer.Backward(x, dY, Rows, gradients, buffer.Span.Slice(2, Rows * In)));
        Assert.Equal("dX", e.ParamName);
        Assert.Contains("'fc.weight'", e.Message, StringComparison.Ordinal);
        // dX over the weight gradient: before, accepted, and dX overwrote the gradient just accumulated.
        e = Assert.Throws<ArgumentException>(() => layer.Backward(x, dY, Rows, gradients, gradientBuffer.Span.Slice(0, Rows * In)));
        Assert.Equal("dX", e.ParamName);
        Assert.Contains("'gradients.fc.weight'", e.Message, StringComparison.Ordinal);
        // dX over x.
        e = Assert.Throws<ArgumentException>(() => layer.Backward(x, dY, Rows, gradients, x));
        Assert.Equal("dX", e.ParamName);
        // The gradients viewing the weights themselves.
        e = Assert.Throws<ArgumentException>(() => layer.Backward(x, dY, Rows, layer, default));
        Assert.Equal("gradients.fc.weight", e.ParamName);

        Assert.Equal(weights, buffer.Span.ToArray());
        Assert.Equal(grads, gradientBuffer.Span.ToArray());
        Assert.Equal(xCopy, x);
        Assert.Equal(dYCopy, dY);
    }

    [Fact]
    public void TooManyRows_IsArgumentOutOfRangeNamingRows()
    {
        (Linear layer, _, _) = Create();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Forward(default, int.MaxValue / 2, default));
        Assert.Equal("rows", e.ParamName);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => layer.Backward(default, default, int.MaxValue / 2, layer, default));
        Assert.Equal("rows", e.ParamName);
    }
}
