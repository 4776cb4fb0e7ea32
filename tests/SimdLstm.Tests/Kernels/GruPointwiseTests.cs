using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using FsCheck.Xunit;
using Xunit;
using static SimdLstm.Tests.Kernels.KernelTestData;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// The fused GRU pointwise forward and backward: against the double reference at every H 0..257 and offset 0..7 (with and
/// without special values), bitwise against the documented float evaluation built from the unfused kernels, in place
/// (h = h₋₁), unit ranges against the whole call, validation; and the double reference backward itself against central
/// finite differences of the double reference forward. CI runs this class on the Vector256, Vector128-only and
/// scalar-only paths, so the bitwise tests prove every path evaluates the documented expressions.
/// </summary>
/// <remarks>
/// <para>
/// Tolerances, u = 2⁻²⁴. σ and tanh are within 8 ulp of the exact value of their float argument (ActivationAccuracyTests;
/// the 3e-7 absolute bound is not needed). Against the exact value that is at most 8.5 float spacings of the result
/// (8 from the float nearest to it, half a spacing from that to the exact value), and a spacing is at most 2u·|y|: 17u·|y|.
/// </para>
/// <para>
/// Forward, first order in u, with the double reference evaluated from the same float inputs:
/// r = σ(fl(gi_r + gh_r)): the sum rounds once (|Δx| ≤ u|x|), which moves σ by at most σ'·u|x| = σ(1 − σ)·u|x| ≤ σ·u|x|,
/// so |Δr| ≤ (17 + |x|)·u·r; the same for z.
/// n = tanh(a) with a = fma(r, gh_n, gi_n): a carries |gh_n|·|Δr| from r, one rounding of r·gh_n when not fused and
/// one of the sum, |Δa| ≤ |gh_n|·|Δr| + u·(2|r·gh_n| + |gi_n|); tanh is 1-Lipschitz and adds its own 17u·|n|.
/// h = fma(z, h₋₁ − n, n) = n + z·d with d = h₋₁ − n: n's error enters as (1 − z)·Δn (once through d, once as the
/// addend), z's as |d|·Δz, the rounding of d and of z·d (unfused) add 2u·z·|d|, the final rounding u·|h|.
/// The checks allow 1.05 times these first-order bounds (the neglected terms are products of two errors of at most
/// about 40u each) plus 2⁻¹⁴⁸ absolute for a result that rounds in the subnormal range. Where an intermediate is
/// infinite (an infinite input), the corresponding activation is exact (σ(±∞) and tanh(±∞) are), so its term is 0.
/// </para>
/// <para>
/// Backward, with every input given: each output is a product of factors that are exact differences of inputs
/// (1 − z, 1 − n, 1 + n, h₋₁ − n, 1 − r each round once), so its relative error is at most k·u to first order with k the
/// number of roundings: dn 6 (1 − z, dH·(1 − z), the three of 1 − n², the product), dr 10 (dn's 6, ·gh_n, the two of
/// r(1 − r), the product), dz 5, dn·r 7, dH·z 1. The checks allow (k + 1)·u relative (γₖ and the double reference's own
/// 1 − n² cancellation, at most 2⁻⁵³/2⁻²⁴ relative since 1 − |n| ≥ 2⁻²⁴ for a float |n| &lt; 1) plus 8·2⁻¹⁴⁹ absolute.
/// </para>
/// </remarks>
public class GruPointwiseTests
{
    private const double ActivationRelative = 17 * Eps;
    private const double Subnormal = 1.4012984643248171e-45;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Forward_MatchesDoubleReference_AtEveryHiddenSizeAndOffset(bool withSpecials)
    {
        var random = new Random(withSpecials ? 61 : 62);
        foreach ((int n, int o1, int o2) in LengthsAndOffsets())
        {
            float[] gi = Uniform(random, 3 * n, -4, 4), gh = Uniform(random, 3 * n, -4, 4), hp = Uniform(random, n, -2, 2);
            if (withSpecials)
            {
                Sprinkle(random, gi, AllSpecials);
                Sprinkle(random, gh, AllSpecials);
                Sprinkle(random, hp, AllSpecials);
            }

            var gates = new GuardedBuffer(gi, o1);
            var recurrent = new GuardedBuffer(gh, o2);
            var hPrev = new GuardedBuffer(hp, (o1 + 3) % 8);
            var h = new GuardedBuffer(n, (o2 + 5) % 8);
            SimdLstm.Kernels.GruPointwiseForward(gates.Span, recurrent.Span, hPrev.Span, h.Span);
            foreach (GuardedBuffer b in new[] { gates, recurrent, hPrev, h })
                b.AssertGuardsIntact();
            AssertBitwiseEqual(gh, recurrent.Span, $"recurrent is read only, H {n}");
            AssertBitwiseEqual(hp, hPrev.Span, $"hPrev is read only, H {n}");

            (double[] act, double[] hRef) = PointwiseReference.GruForward(
                PointwiseReference.ToDouble(gi), PointwiseReference.ToDouble(gh), PointwiseReference.ToDouble(hp));
            for (int j = 0; j < n; j++)
            {
                double r = act[j], z = act[n + j], candidate = act[2 * n + j];
                double xr = (double)gi[j] + gh[j], xz = (double)gi[n + j] + gh[n + j];
                double a = gi[2 * n + j] + r * gh[2 * n + j];
                double tolR = double.IsFinite(xr) ? (17 + Math.Abs(xr)) * Eps * r : 0;
                double tolZ = double.IsFinite(xz) ? (17 + Math.Abs(xz)) * Eps * z : 0;
                double tolN = double.IsFinite(a)
                    ? ActivationRelative * Math.Abs(candidate) + Math.Abs(gh[2 * n + j]) * tolR
                      + Eps * (2 * Math.Abs(r * gh[2 * n + j]) + Math.Abs(gi[2 * n + j]))
                    : 0;
                double d = hp[j] - candidate;
                double tolH = double.IsFinite(hRef[j])
                    ? Math.Abs(d) * tolZ + (1 - z) * tolN + 2 * Eps * z * Math.Abs(d) + Eps * Math.Abs(hRef[j])
                    : 0;
                string where = $"H {n}, offsets {o1}/{o2}, unit {j}";
                Check(r, gates.Span[j], tolR, $"{where}: r");
                Check(z, gates.Span[n + j], tolZ, $"{where}: z");
                Check(candidate, gates.Span[2 * n + j], tolN, $"{where}: n");
                Check(hRef[j], h.Span[j], tolH, $"{where}: h");
            }
        }

        static void Check(double exact, float actual, double firstOrder, string what)
        {
            bool ok = double.IsNaN(exact) ? float.IsNaN(actual)
                : double.IsInfinity(exact) ? actual == exact
                : float.IsFinite(actual) && Math.Abs(actual - exact) <= 1.05 * firstOrder + 2 * Subnormal;
            if (!ok)
                Assert.Fail($"{what}: got {actual:R}, exact {exact:R}, tolerance {1.05 * firstOrder:G3}");
        }
    }

    [Fact]
    public void Forward_EqualsDocumentedFloatEvaluation_Bitwise_WithSpecialValues()
    {
        var random = new Random(63);
        foreach ((int n, int o1, int o2) in LengthsAndOffsets())
        {
            (float[] gi, float[] gh, float[] hp) = ForwardInputs(random, n, specials: true);
            var gates = new GuardedBuffer(gi, o1);
            var recurrent = new GuardedBuffer(gh, o2);
            var hPrev = new GuardedBuffer(hp, (o1 + 6) % 8);
            var h = new GuardedBuffer(n, (o2 + 1) % 8);
            SimdLstm.Kernels.GruPointwiseForward(gates.Span, recurrent.Span, hPrev.Span, h.Span);
            foreach (GuardedBuffer b in new[] { gates, recurrent, hPrev, h })
                b.AssertGuardsIntact();

            (float[] act, float[] hExpected) = DocumentedForward(gi, gh, hp);
            AssertBitwiseEqual(act, gates.Span, $"activations, H {n}, offsets {o1}/{o2}");
            AssertBitwiseEqual(hExpected, h.Span, $"h, H {n}, offsets {o1}/{o2}");
        }
    }

    [Fact]
    public void Forward_InPlaceHiddenState_EqualsOutOfPlace()
    {
        var random = new Random(64);
        foreach ((int n, int o1, int o2) in LengthsAndOffsets())
        {
            (float[] gi, float[] gh, float[] hp) = ForwardInputs(random, n, specials: (n & 1) == 1);
            var g1 = (float[])gi.Clone();
            var h = new float[n];
            SimdLstm.Kernels.GruPointwiseForward(g1, gh, hp, h);

            var g2 = new GuardedBuffer(gi, o1);
            var state = new GuardedBuffer(hp, o2);
            SimdLstm.Kernels.GruPointwiseForward(g2.Span, gh, state.Span, state.Span);
            g2.AssertGuardsIntact();
            state.AssertGuardsIntact();
            AssertBitwiseEqual(g1, g2.Span, $"activations with h in place, H {n}");
            AssertBitwiseEqual(h, state.Span, $"h in place, H {n}, offset {o2}");
        }
    }

    /// <summary>
    /// <c>GruPointwise.ForwardRange</c> over disjoint unit ranges, cut anywhere (not only at vector boundaries) and run in
    /// any order, out of place and in place, gives the whole call's bits: how the panel step runs the units of each share.
    /// </summary>
    [Fact]
    public void ForwardRange_DisjointRangesInAnyOrder_EqualTheWholeCall()
    {
        var random = new Random(65);
        for (int n = 0; n <= 257; n += n < 72 ? 1 : 37)
        {
            (float[] gi, float[] gh, float[] hp) = ForwardInputs(random, n, specials: n % 3 == 0);
            var wholeGates = (float[])gi.Clone();
            var whole = new float[n];
            SimdLstm.Kernels.GruPointwiseForward(wholeGates, gh, hp, whole);
            for (int trial = 0; trial < 6; trial++)
            {
                int[] cuts = Cuts(random, n, trial);
                int[] order = [.. System.Linq.Enumerable.Range(0, cuts.Length - 1)];
                random.Shuffle(order);
                bool inPlace = (trial & 1) == 1;

                var gates = (float[])gi.Clone();
                float[] hPrev = (float[])hp.Clone();
                float[] h = inPlace ? hPrev : new float[n];
                foreach (int piece in order)
                {
                    GruPointwise.ForwardRange(ref MemoryMarshal.GetArrayDataReference(gates), ref MemoryMarshal.GetArrayDataReference(gh),
                        ref MemoryMarshal.GetArrayDataReference(hPrev), ref MemoryMarshal.GetArrayDataReference(h),
                        (nuint)cuts[piece], (nuint)cuts[piece + 1], (nuint)n);
                }

                string what = $"H {n}, cuts [{string.Join(", ", cuts)}], order [{string.Join(", ", order)}], in place {inPlace}";
                AssertBitwiseEqual(wholeGates, gates, $"activations, {what}");
                AssertBitwiseEqual(whole, h, $"h, {what}");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backward_MatchesDoubleReference_AtEveryHiddenSizeAndOffset(bool withSpecials)
    {
        var random = new Random(withSpecials ? 66 : 67);
        foreach ((int n, int o1, int o2) in LengthsAndOffsets())
        {
            (float[] act, float[] gh, float[] hp, float[] dh) = BackwardInputs(random, n, withSpecials, subnormals: false);
            var gates = new GuardedBuffer(act, o1);
            var recurrent = new GuardedBuffer(gh, o2);
            var hPrev = new GuardedBuffer(hp, (o1 + 2) % 8);
            var dH = new GuardedBuffer(dh, (o2 + 3) % 8);
            var dGates = new GuardedBuffer(3 * n, (o1 + 5) % 8);
            var dRecurrent = new GuardedBuffer(3 * n, (o2 + 6) % 8);
            var dHPrev = new GuardedBuffer(n, (o1 + 7) % 8);
            SimdLstm.Kernels.GruPointwiseBackward(gates.Span, recurrent.Span, hPrev.Span, dH.Span, dGates.Span, dRecurrent.Span, dHPrev.Span);
            foreach (GuardedBuffer b in new[] { gates, recurrent, hPrev, dH, dGates, dRecurrent, dHPrev })
                b.AssertGuardsIntact();

            (double[] refGates, double[] refRecurrent, double[] refHPrev) = PointwiseReference.GruBackward(
                PointwiseReference.ToDouble(act), PointwiseReference.ToDouble(gh), PointwiseReference.ToDouble(hp), PointwiseReference.ToDouble(dh));
            string where = $"H {n}, offsets {o1}/{o2}";
            for (int j = 0; j < n; j++)
            {
                Check(refGates[j], dGates.Span[j], 10, $"{where}: dr (dGates) [{j}]");
                Check(refGates[n + j], dGates.Span[n + j], 5, $"{where}: dz (dGates) [{j}]");
                Check(refGates[2 * n + j], dGates.Span[2 * n + j], 6, $"{where}: dn (dGates) [{j}]");
                Check(refRecurrent[j], dRecurrent.Span[j], 10, $"{where}: dr (dRecurrent) [{j}]");
                Check(refRecurrent[n + j], dRecurrent.Span[n + j], 5, $"{where}: dz (dRecurrent) [{j}]");
                Check(refRecurrent[2 * n + j], dRecurrent.Span[2 * n + j], 7, $"{where}: dn·r (dRecurrent) [{j}]");
                Check(refHPrev[j], dHPrev.Span[j], 1, $"{where}: dHPrev [{j}]");
            }
        }

        static void Check(double exact, float actual, int roundings, string what)
        {
            double tolerance = (roundings + 1) * Eps * Math.Abs(exact) + 8 * Subnormal;
            bool ok = double.IsNaN(exact) ? float.IsNaN(actual)
                : double.IsInfinity(exact) ? actual == exact
                : float.IsFinite(actual) && Math.Abs(actual - exact) <= tolerance;
            if (!ok)
                Assert.Fail($"{what}: got {actual:R}, exact {exact:R}, tolerance {tolerance:G3}");
        }
    }

    [Fact]
    public void Backward_EqualsDocumentedFloatEvaluation_Bitwise_WithSpecialValues()
    {
        var random = new Random(68);
        foreach ((int n, int o1, int o2) in LengthsAndOffsets())
        {
            (float[] act, float[] gh, float[] hp, float[] dh) = BackwardInputs(random, n, specials: true, subnormals: true);
            var gates = new GuardedBuffer(act, o1);
            var recurrent = new GuardedBuffer(gh, o2);
            var hPrev = new GuardedBuffer(hp, (o1 + 1) % 8);
            var dH = new GuardedBuffer(dh, (o2 + 4) % 8);
            var dGates = new GuardedBuffer(3 * n, (o1 + 3) % 8);
            var dRecurrent = new GuardedBuffer(3 * n, (o2 + 2) % 8);
            var dHPrev = new GuardedBuffer(n, (o1 + 6) % 8);
            SimdLstm.Kernels.GruPointwiseBackward(gates.Span, recurrent.Span, hPrev.Span, dH.Span, dGates.Span, dRecurrent.Span, dHPrev.Span);
            foreach (GuardedBuffer b in new[] { gates, recurrent, hPrev, dH, dGates, dRecurrent, dHPrev })
                b.AssertGuardsIntact();

            (float[] expectedGates, float[] expectedRecurrent, float[] expectedHPrev) = DocumentedBackward(act, gh, hp, dh);
            AssertBitwiseEqual(expectedGates, dGates.Span, $"dGates, H {n}, offsets {o1}/{o2}");
            AssertBitwiseEqual(expectedRecurrent, dRecurrent.Span, $"dRecurrent, H {n}, offsets {o1}/{o2}");
            AssertBitwiseEqual(expectedHPrev, dHPrev.Span, $"dHPrev, H {n}, offsets {o1}/{o2}");
        }
    }

    /// <summary>
    /// The double reference backward formulas are the true gradient of the double reference forward: for L = Σ dH⊙h,
    /// every element of dGates (w.r.t. gi), dRecurrent (w.r.t. gh) and dHPrev (w.r.t. h₋₁, gh held fixed) is compared
    /// with central differences (step 1e-6: truncation ~1e-12, cancellation ~1e-16·|L|/1e-6 ≤ 1e-8; tolerance 1e-7).
    /// </summary>
    [Property(MaxTest = 40)]
    public bool ReferenceBackward_MatchesFiniteDifferencesOfReferenceForward(int rawSize, int seed)
    {
        int n = 1 + (int)((uint)rawSize % 40);
        var random = new Random(seed);
        double[] gi = PointwiseReference.ToDouble(Uniform(random, 3 * n, -3, 3));
        double[] gh = PointwiseReference.ToDouble(Uniform(random, 3 * n, -3, 3));
        double[] hPrev = PointwiseReference.ToDouble(Uniform(random, n, -1, 1));
        double[] dH = PointwiseReference.ToDouble(Uniform(random, n, -1, 1));
        (double[] act, _) = PointwiseReference.GruForward(gi, gh, hPrev);
        (double[] dGates, double[] dRecurrent, double[] dHPrev) = PointwiseReference.GruBackward(act, gh, hPrev, dH);

        double Loss()
        {
            (_, double[] h) = PointwiseReference.GruForward(gi, gh, hPrev);
            double loss = 0;
            for (int j = 0; j < n; j++)
                loss += dH[j] * h[j];
            return loss;
        }

        Compare(gi, dGates, "dGates");
        Compare(gh, dRecurrent, "dRecurrent");
        Compare(hPrev, dHPrev, "dHPrev");
        return true;

        void Compare(double[] input, double[] formula, string name)
        {
            const double step = 1e-6;
            string[] blocks = ["r", "z", "n"];
            for (int k = 0; k < input.Length; k++)
            {
                double saved = input[k];
                input[k] = saved + step;
                double up = Loss();
                input[k] = saved - step;
                double down = Loss();
                input[k] = saved;
                double fd = (up - down) / (2 * step);
                if (Math.Abs(formula[k] - fd) > 1e-7)
                {
                    string element = input.Length == n ? $"[{k}]" : $"[{blocks[k / n]}, {k % n}]";
                    throw new InvalidOperationException($"{name}{element}: formula {formula[k]:R}, finite differences {fd:R}");
                }
            }
        }
    }

    [Fact]
    public void Forward_ThrowsForBadArguments_AndWritesNothing()
    {
        const int n = 5;
        float[] gates = new float[3 * n], recurrent = new float[3 * n], hPrev = new float[n], h = new float[n];
        gates.AsSpan().Fill(2f);
        recurrent.AsSpan().Fill(3f);
        hPrev.AsSpan().Fill(5f);
        h.AsSpan().Fill(4f);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseForward(new float[10], new float[10], new float[3], new float[3]), "gates", 3, 10);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseForward(gates, new float[3 * n + 1], hPrev, h), "recurrent", 3 * n, 3 * n + 1);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseForward(gates, recurrent, new float[n - 1], h), "hPrev", n, n - 1);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseForward(gates, recurrent, hPrev, new float[2 * n]), "h", n, 2 * n);

        // h may be exactly hPrev but not partly over it, nor over gates or recurrent; recurrent and hPrev may not overlap gates.
        var state = new float[n + 2];
        state.AsSpan().Fill(4f);
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseForward(gates, recurrent, state.AsSpan(0, n), state.AsSpan(1, n)), "h");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseForward(gates, recurrent, hPrev, gates.AsSpan(2 * n, n)), "h");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseForward(gates, recurrent, hPrev, recurrent.AsSpan(1, n)), "h");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseForward(gates, gates, hPrev, h), "gates");
        var shared = new float[3 * n + 1];
        shared.AsSpan().Fill(2f);
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseForward(shared.AsSpan(1, 3 * n), shared.AsSpan(0, 3 * n), hPrev, h), "gates");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseForward(gates, recurrent, gates.AsSpan(n, n), h), "gates");
        AssertAllEqual(2f, gates);
        AssertAllEqual(3f, recurrent);
        AssertAllEqual(5f, hPrev);
        AssertAllEqual(4f, h);
        AssertAllEqual(4f, state);
        AssertAllEqual(2f, shared);
    }

    [Fact]
    public void Backward_ThrowsForBadArguments_AndWritesNothing()
    {
        const int n = 4;
        float[] gates = new float[3 * n], recurrent = new float[3 * n], hPrev = new float[n], dH = new float[n];
        float[] dGates = new float[3 * n], dRecurrent = new float[3 * n], dHPrev = new float[n];
        gates.AsSpan().Fill(1f);
        dGates.AsSpan().Fill(5f);
        dRecurrent.AsSpan().Fill(6f);
        dHPrev.AsSpan().Fill(7f);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseBackward(new float[7], new float[7], hPrev, dH, new float[7], new float[7], dHPrev), "gates", 3, 7);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, new float[3 * n - 1], hPrev, dH, dGates, dRecurrent, dHPrev), "recurrent", 3 * n, 3 * n - 1);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, new float[3], dH, dGates, dRecurrent, dHPrev), "hPrev", n, 3);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, new float[0], dGates, dRecurrent, dHPrev), "dH", n, 0);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, new float[3 * n + 3], dRecurrent, dHPrev), "dGates", 3 * n, 3 * n + 3);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, new float[n], dHPrev), "dRecurrent", 3 * n, n);
        AssertLengthError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, dRecurrent, new float[n + 1]), "dHPrev", n, n + 1);

        // No output may overlap an input (not even exactly) or another output.
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, gates, dRecurrent, dHPrev), "dGates");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, recurrent, dRecurrent, dHPrev), "dGates");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, recurrent, dHPrev), "dRecurrent");
        var shared = new float[3 * n + 2];
        shared.AsSpan().Fill(1f);
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(shared.AsSpan(0, 3 * n), recurrent, hPrev, dH, dGates, shared.AsSpan(2, 3 * n), dHPrev), "dRecurrent");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, dRecurrent, dH), "dHPrev");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, dRecurrent, hPrev), "dHPrev");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, dRecurrent, gates.AsSpan(n, n)), "dHPrev");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, dGates, dHPrev), "dRecurrent");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, dRecurrent, dGates.AsSpan(2 * n, n)), "dHPrev");
        AssertArgumentError(() => SimdLstm.Kernels.GruPointwiseBackward(gates, recurrent, hPrev, dH, dGates, dRecurrent, dRecurrent.AsSpan(1, n)), "dHPrev");
        AssertAllEqual(1f, gates);
        AssertAllEqual(5f, dGates);
        AssertAllEqual(6f, dRecurrent);
        AssertAllEqual(7f, dHPrev);
        AssertAllEqual(0f, recurrent);
        AssertAllEqual(0f, hPrev);
        AssertAllEqual(0f, dH);
        AssertAllEqual(1f, shared);
    }

    [Fact]
    public void PointwiseKernels_AllocateNothing()
    {
        const int n = 67;
        var random = new Random(69);
        (float[] gi, float[] gh, float[] hp) = ForwardInputs(random, n, specials: false);
        float[] dh = Uniform(random, n, -1, 1), dGates = new float[3 * n], dRecurrent = new float[3 * n], dHPrev = new float[n];
        var h = new float[n];
        void Iteration()
        {
            SimdLstm.Kernels.GruPointwiseForward(gi, gh, hp, h);
            SimdLstm.Kernels.GruPointwiseForward(gi, gh, hp, hp);
            SimdLstm.Kernels.GruPointwiseBackward(gi, gh, hp, dh, dGates, dRecurrent, dHPrev);
            GruPointwise.ForwardRange(ref MemoryMarshal.GetArrayDataReference(gi), ref MemoryMarshal.GetArrayDataReference(gh),
                ref MemoryMarshal.GetArrayDataReference(hp), ref MemoryMarshal.GetArrayDataReference(h), 21, 42, n);
        }

        Iteration();
        Allocations.AssertNone(Iteration, count: 200);
    }

    // ---- helpers ----

    private static readonly float[] AllSpecials =
        [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon, 1e-40f, -3e-39f];

    private static readonly float[] SpecialsWithoutSubnormals = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f];

    /// <summary>Replaces about one element in 12 by a value drawn from <paramref name="specials"/>.</summary>
    private static void Sprinkle(Random random, float[] values, float[] specials)
    {
        for (int k = 0; k < values.Length; k++)
        {
            if (random.Next(12) == 0)
                values[k] = specials[random.Next(specials.Length)];
        }
    }

    private static (float[] Gi, float[] Gh, float[] HPrev) ForwardInputs(Random random, int n, bool specials)
    {
        float[] gi = Uniform(random, 3 * n, -5, 5), gh = Uniform(random, 3 * n, -5, 5), hp = Uniform(random, n, -2, 2);
        if (specials)
        {
            SprinkleSpecials(random, gi);
            SprinkleSpecials(random, gh);
            SprinkleSpecials(random, hp);
        }

        return (gi, gh, hp);
    }

    /// <summary>
    /// Saved activations as a forward pass produces them (from random pre-activations), the recurrent projection, h₋₁ and
    /// dL/dh. With <paramref name="specials"/>: NaN, ±∞ and ±0 (and with <paramref name="subnormals"/> subnormals) in gh,
    /// h₋₁ and dH, and in the activations only what a forward pass can save: NaN, 0 and 1 for r and z, NaN, ±0 and ±1 for n
    /// (plus subnormals: σ's far negative tail, tanh of a subnormal).
    /// </summary>
    private static (float[] Act, float[] Gh, float[] HPrev, float[] DH) BackwardInputs(Random random, int n, bool specials, bool subnormals)
    {
        (float[] act, float[] gh, float[] hp) = ForwardInputs(random, n, specials: false);
        SimdLstm.Kernels.GruPointwiseForward(act, gh, hp, new float[n]);
        float[] dh = Uniform(random, n, -2, 2);
        if (specials)
        {
            float[] inputs = subnormals ? AllSpecials : SpecialsWithoutSubnormals;
            Sprinkle(random, gh, inputs);
            Sprinkle(random, hp, inputs);
            Sprinkle(random, dh, inputs);
            float[] gates = subnormals ? [float.NaN, 0f, 1f, float.Epsilon, 1e-40f] : [float.NaN, 0f, 1f];
            float[] candidates = subnormals ? [float.NaN, 0f, -0f, 1f, -1f, float.Epsilon, -3e-39f] : [float.NaN, 0f, -0f, 1f, -1f];
            Span<float> rz = act.AsSpan(0, 2 * n), cand = act.AsSpan(2 * n, n);
            for (int k = 0; k < rz.Length; k++)
            {
                if (random.Next(12) == 0)
                    rz[k] = gates[random.Next(gates.Length)];
            }

            for (int k = 0; k < cand.Length; k++)
            {
                if (random.Next(12) == 0)
                    cand[k] = candidates[random.Next(candidates.Length)];
            }
        }

        return (act, gh, hp, dh);
    }

    /// <summary>
    /// The documented forward in float, from the unfused public kernels: r = Sigmoid(gi_r + gh_r), z = Sigmoid(gi_z + gh_z),
    /// n = Tanh(fma(r, gh_n, gi_n)), h = fma(z, h₋₁ − n, n). Written from the documentation, not from the kernel.
    /// </summary>
    private static (float[] Act, float[] H) DocumentedForward(float[] gi, float[] gh, float[] hp)
    {
        int n = hp.Length;
        var sums = new float[2 * n];
        for (int k = 0; k < 2 * n; k++)
            sums[k] = gi[k] + gh[k];
        var act = new float[3 * n];
        SimdLstm.Kernels.Sigmoid(sums, act.AsSpan(0, 2 * n));
        var arguments = new float[n];
        for (int j = 0; j < n; j++)
            arguments[j] = MultiplyAddLikeTheLibrary(act[j], gh[2 * n + j], gi[2 * n + j]);
        SimdLstm.Kernels.Tanh(arguments, act.AsSpan(2 * n, n));
        var h = new float[n];
        for (int j = 0; j < n; j++)
        {
            float z = act[n + j], candidate = act[2 * n + j];
            h[j] = MultiplyAddLikeTheLibrary(z, hp[j] - candidate, candidate);
        }

        return (act, h);
    }

    /// <summary>
    /// The documented backward in float, from the unfused public derivative kernels: dn = (dH·(1 − z))·(1 − n²),
    /// dr = (dn·gh_n)·(r(1 − r)), dz = (dH·(h₋₁ − n))·(z(1 − z)); dGates = (dr, dz, dn), dRecurrent = (dr, dz, dn·r),
    /// dHPrev = dH·z.
    /// </summary>
    private static (float[] DGates, float[] DRecurrent, float[] DHPrev) DocumentedBackward(float[] act, float[] gh, float[] hp, float[] dh)
    {
        int n = hp.Length;
        var sigmoidDerivative = new float[2 * n];
        var tanhDerivative = new float[n];
        SimdLstm.Kernels.SigmoidDerivativeFromOutput(act.AsSpan(0, 2 * n), sigmoidDerivative);
        SimdLstm.Kernels.TanhDerivativeFromOutput(act.AsSpan(2 * n, n), tanhDerivative);
        var dGates = new float[3 * n];
        var dRecurrent = new float[3 * n];
        var dHPrev = new float[n];
        for (int j = 0; j < n; j++)
        {
            float r = act[j], z = act[n + j], candidate = act[2 * n + j];
            float dn = dh[j] * (1f - z) * tanhDerivative[j];
            float dr = dn * gh[2 * n + j] * sigmoidDerivative[j];
            float dz = dh[j] * (hp[j] - candidate) * sigmoidDerivative[n + j];
            (dGates[j], dGates[n + j], dGates[2 * n + j]) = (dr, dz, dn);
            (dRecurrent[j], dRecurrent[n + j], dRecurrent[2 * n + j]) = (dr, dz, dn * r);
            dHPrev[j] = dh[j] * z;
        }

        return (dGates, dRecurrent, dHPrev);
    }

    private static float MultiplyAddLikeTheLibrary(float a, float b, float c) =>
        Fma.IsSupported || AdvSimd.Arm64.IsSupported ? MathF.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    /// <summary>
    /// Ascending cut points 0 = c₀ ≤ c₁ ≤ … ≤ cₘ = n: trial 0 the whole range, trial 1 cuts at multiples of 21 (the units of
    /// a G = 3 panel block), later trials 1 to 6 pieces cut at random (empty pieces allowed).
    /// </summary>
    private static int[] Cuts(Random random, int n, int trial)
    {
        if (trial == 0)
            return [0, n];
        if (trial == 1)
        {
            var panel = new System.Collections.Generic.List<int> { 0 };
            for (int c = 21; c < n; c += 21)
                panel.Add(c);
            panel.Add(n);
            return [.. panel];
        }

        int pieces = 1 + random.Next(6);
        var cuts = new int[pieces + 1];
        for (int k = 1; k < pieces; k++)
            cuts[k] = random.Next(n + 1);
        cuts[pieces] = n;
        Array.Sort(cuts);
        return cuts;
    }
}
