using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// Proves that the ISA configuration requested through the runtime's environment switches is the
/// one the tests actually run on, so a CI run "with AVX2 disabled" cannot silently test AVX2.
/// </summary>
public class IsaTests
{
    [Fact]
    public void RequestedIsa_IsTheOneInUse()
    {
        string? avx2 = Environment.GetEnvironmentVariable("DOTNET_EnableAVX2");
        string? hw = Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Vector256 accelerated: {Vector256.IsHardwareAccelerated}, Vector128 accelerated: {Vector128.IsHardwareAccelerated}, AVX2: {Avx2.IsSupported}, FMA: {Fma.IsSupported}");
        if (hw == "0")
        {
            Assert.False(Vector128.IsHardwareAccelerated);
            Assert.False(Vector256.IsHardwareAccelerated);
        }
        else if (avx2 == "0")
        {
            Assert.False(Vector256.IsHardwareAccelerated);
            Assert.True(Vector128.IsHardwareAccelerated);
        }
    }
}
