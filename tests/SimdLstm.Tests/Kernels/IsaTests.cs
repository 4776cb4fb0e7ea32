using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// Proves that the instruction set a test run claims to be on is the one the kernels actually use, so a CI run "with
/// AVX2 disabled" cannot silently test AVX2, and a run with no switch at all is checked too (the processor's best path).
/// </summary>
/// <remarks>
/// The claim is <c>SIMDLSTM_EXPECTED_ISA</c> (<c>native</c>, <c>avx2</c>, <c>vector128</c> or <c>scalar</c>), which
/// <c>.ci/run</c> sets for each of its runs; CI without it fails. Elsewhere the claim is implied by the runtime's switches
/// (<c>DOTNET_EnableHWIntrinsic=0</c> → scalar, <c>DOTNET_EnableAVX2=0</c> → vector128, <c>DOTNET_EnableAVX512=0</c> → avx2:
/// the AVX2 kernels on a processor whose best path is AVX-512, neither → native).
/// </remarks>
public class IsaTests
{
    public const string Variable = "SIMDLSTM_EXPECTED_ISA";

    [Fact]
    public void ClaimedIsa_IsTheOneInUse()
    {
        string? claimed = Environment.GetEnvironmentVariable(Variable);
        string implied = Implied(Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic"), Environment.GetEnvironmentVariable("DOTNET_EnableAVX2"), Environment.GetEnvironmentVariable("DOTNET_EnableAVX512"));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Variable}={claimed ?? "(unset)"}, implied {implied}; Vector256 accelerated: {Vector256.IsHardwareAccelerated}, Vector128 accelerated: {Vector128.IsHardwareAccelerated}, Vector512 accelerated: {Vector512.IsHardwareAccelerated}, AVX-512BW: {Avx512BW.IsSupported}, AVX2: {Avx2.IsSupported}, FMA: {Fma.IsSupported}");
        if (claimed is null)
        {
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase),
                $"CI must say which instruction set each test run is meant to be on ({Variable}).");
            claimed = implied;
        }
        Assert.Equal(implied, claimed); // the claim and the switches agree
        AssertInUse(claimed);
    }

    [Theory]
    [InlineData(null, null, null, "native")]
    [InlineData(null, "0", null, "vector128")]
    [InlineData("0", null, null, "scalar")]
    [InlineData("0", "0", null, "scalar")]
    [InlineData("1", "1", null, "native")]
    [InlineData(null, null, "0", "avx2")]
    [InlineData(null, "0", "0", "vector128")]
    [InlineData("0", null, "0", "scalar")]
    [InlineData("1", "1", "1", "native")]
    public void Switches_ImplyTheIsa(string? hwIntrinsic, string? avx2, string? avx512, string expected) =>
        Assert.Equal(expected, Implied(hwIntrinsic, avx2, avx512));

    private static string Implied(string? hwIntrinsic, string? avx2, string? avx512) =>
        hwIntrinsic == "0" ? "scalar" : avx2 == "0" ? "vector128" : avx512 == "0" ? "avx2" : "native";

    private static void AssertInUse(string isa)
    {
        switch (isa)
        {
            case "scalar":
                Assert.False(Vector128.IsHardwareAccelerated, "claimed scalar, but Vector128 is accelerated");
                Assert.False(Vector256.IsHardwareAccelerated, "claimed scalar, but Vector256 is accelerated");
                break;
            case "vector128":
                Assert.True(Vector128.IsHardwareAccelerated, "claimed Vector128, but it is not accelerated");
                Assert.False(Vector256.IsHardwareAccelerated, "claimed Vector128 only, but Vector256 is accelerated");
                break;
            case "avx2":
                Assert.True(Vector256.IsHardwareAccelerated, "claimed AVX2, but Vector256 is not accelerated");
                Assert.False(Avx512BW.IsSupported, "claimed AVX2 only, but AVX-512BW is in use");
                Assert.False(Vector512.IsHardwareAccelerated, "claimed AVX2 only, but Vector512 is accelerated");
                break;
            case "native":
                // Nothing switched off: the processor's best path. On x86 Vector256 is accelerated exactly with AVX2.
                Assert.True(Vector128.IsHardwareAccelerated, "no switch set, but Vector128 is not accelerated");
                if (X86Base.IsSupported)
                    Assert.Equal(Avx2.IsSupported, Vector256.IsHardwareAccelerated);
                break;
            default:
                Assert.Fail($"{Variable} must be native, avx2, vector128 or scalar but is '{isa}'.");
                break;
        }
    }
}
