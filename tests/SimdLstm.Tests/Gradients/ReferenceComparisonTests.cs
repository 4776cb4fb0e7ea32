using System;
using SimdLstm.Testing;
using Xunit;

namespace SimdLstm.Tests.Gradients;

public class ReferenceComparisonTests
{
    [Fact]
    public void WithinTolerance_Passes()
    {
        double[] expected = [1.0, -2.0, 0.0, 1e-9];
        float[] actual = [1.000001f, -2.000002f, 5e-7f, 0f];
        ComparisonResult result = ReferenceComparison.AssertClose("output", actual, expected, relativeTolerance: 2e-6, absoluteTolerance: 1e-6);
        Assert.True(result.Passed);
        Assert.InRange(result.WorstRatio, 0, 1);
    }

    [Fact]
    public void OutOfTolerance_ThrowsNamingTensorIndexAndValues()
    {
        double[] expected = [1.0, 2.0, 3.0, 4.0];
        float[] actual = [1.0f, 2.0f, 3.01f, 4.0f];
        var exception = Assert.Throws<ToleranceExceededException>(
            () => ReferenceComparison.AssertClose("hN", actual, expected, relativeTolerance: 1e-5, absoluteTolerance: 1e-6));
        TestContext.Current.TestOutputHelper?.WriteLine(exception.Message);
        Assert.StartsWith("Values out of tolerance: hN: worst [2] actual 3.01 vs expected 3", exception.Message, StringComparison.Ordinal);
        ComparisonResult result = ReferenceComparison.Compare("hN", actual, expected, 1e-5, 1e-6);
        Assert.Equal((2, 3.01f, 3.0), (result.WorstIndex, result.Actual, result.Expected));
    }

    [Fact]
    public void NaN_Fails()
    {
        ComparisonResult result = ReferenceComparison.Compare("cN", [0f, float.NaN], [0.0, 1.0], 1e-3, 1e-3);
        Assert.False(result.Passed);
        Assert.Equal(1, result.WorstIndex);
    }

    [Fact]
    public void LengthMismatch_ThrowsBeforeComparing()
    {
        var exception = Assert.Throws<ArgumentException>(() => ReferenceComparison.Compare("x", new float[3], new double[4], 1e-5, 1e-6));
        Assert.Equal("actual", exception.ParamName);
        Assert.Contains("Expected length 4 but got 3", exception.Message, StringComparison.Ordinal);
    }
}
