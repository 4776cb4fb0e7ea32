using Xunit;
using Xunit.Sdk;

namespace SimdLstm.Tests;

/// <summary>The steady-state allocation check itself: it must still fail when every call allocates.</summary>
public class AllocationsTests
{
    private static object? _sink;

    [Fact]
    public void AssertNone_PerCallAllocation_Fails() =>
        Assert.ThrowsAny<XunitException>(() => Allocations.AssertNone(() => _sink = new float[4], count: 10));

    [Fact]
    public void AssertNone_NoAllocation_Passes()
    {
        int calls = 0;
        Allocations.AssertNone(() => calls++, count: 10);
        Assert.True(calls >= 10);
    }
}
