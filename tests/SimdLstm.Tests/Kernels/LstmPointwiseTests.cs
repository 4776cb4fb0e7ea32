using System;
using FsCheck.Xunit;
using Xunit;
using static SimdLstm.Tests.Kernels.KernelTestData;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// The fused LSTM pointwise forward and backward: against the double reference at every H 0..257 and
/// offset 0..7, bitwise against the unfused kernels, in place, validation; and the double reference
/// backward itself against central finite differences of the double reference forward.
/// </summary>
/// <remarks>
/// Tolerances (u = 2^−24): σ and tanh are within 8 ulp ≤ 16u relative (ActivationAccuracyTests).
/// E = 40u covers one such error doubled (tanh² in 1 − tanh²) plus a few roundings.
/// </remarks>
public class LstmPointwiseTests
{
    private const double E = 40 * Eps;

    [Fact]
    public void Forward_MatchesDoubleReference_AtEveryHiddenSizeAndOffset()
    {
        var random = new Random(41);
        foreach ((int n, int o1, int o2) in LengthsAndOffsets())
        {
            float[] pre = Uniform(random, 4 * n, -6, 6);
            var gates = new GuardedBuffer(pre, o1);
            var cPrev = new GuardedBuffer(Uniform(random, n, -3, 3), o2);
            var c = new GuardedBuffer(n, (o1 + 1) % 8);
            var h = new GuardedBuffer(n, (o2 + 5) % 8);
            SimdLstm.Kernels.LstmPointwiseForward(gates.Span, cPrev.Span, c.Span, h.Span);
            foreach (GuardedBuffer b in new[] { gates, cPrev, c, h })
                b.AssertGuardsIntact();

            (double[] act, double[] cRef, double[] hRef) = PointwiseReference.LstmForward(PointwiseReference.ToDouble(pre), PointwiseReference.ToDouble(cPrev.Span));
            for (int k = 0; k < 4 * n; k++)
                Assert.True(Math.Abs(gates.Span[k] - act[k]) <= 16 * Eps * Math.Abs(act[k]), $"H {n}: activation {k}: got {gates.Span[k]:R}, exact {act[k]:R}");
            for (int j = 0; j < n; j++)
            {
                double i = act[j], f = act[n + j], g = act[2 * n + j], o = act[3 * n + j];

                // c = fma(f, cPrev, i·g): f, i, g each within 16u, one rounding for i·g, one or two for the multiply-add.
                double tolC = E * (Math.Abs(f * cPrev.Span[j]) + Math.Abs(i * g));
                Assert.True(Math.Abs(c.Span[j] - cRef[j]) <= tolC, $"H {n}: c[{j}]: got {c.Span[j]:R}, exact {cRef[j]:R}");

                // h = o·tanh(c): o and tanh within 16u each, tanh' ≤ 1 carries c's error, one rounding.
                double tolH = E * Math.Abs(hRef[j]) + o * tolC;
                Assert.True(Math.Abs(h.Span[j] - hRef[j]) <= tolH, $"H {n}: h[{j}]: got {h.Span[j]:R}, exact {hRef[j]:R}");
            }
        }
    }

    [Fact]
    public void Forward_EqualsUnfusedKernels_Bitwise()
    {
        var random = new Random(42);
        for (int n = 0; n <= 100; n++)
        {
            float[] pre = Uniform(random, 4 * n, -8, 8);
            float[] cPrev = Uniform(random, n, -4, 4);
            var gates = (float[])pre.Clone();
            var c = new float[n];
            var h = new float[n];
            SimdLstm.Kernels.LstmPointwiseForward(gates, cPrev, c, h);

            var act = new float[4 * n];
            SimdLstm.Kernels.Sigmoid(pre.AsSpan(0, n), act.AsSpan(0, n));
            SimdLstm.Kernels.Sigmoid(pre.AsSpan(n, n), act.AsSpan(n, n));
            SimdLstm.Kernels.Tanh(pre.AsSpan(2 * n, n), act.AsSpan(2 * n, n));
            SimdLstm.Kernels.Sigmoid(pre.AsSpan(3 * n, n), act.AsSpan(3 * n, n));
            var cExpected = new float[n];
            for (int j = 0; j < n; j++)
                cExpected[j] = MultiplyAdd.Invoke(act[n + j], cPrev[j], act[j] * act[2 * n + j]);
            var hExpected = new float[n];
            SimdLstm.Kernels.Tanh(cExpected, hExpected);
            for (int j = 0; j < n; j++)
                hExpected[j] = act[3 * n + j] * hExpected[j];

            AssertBitwiseEqual(act, gates, $"activations, H {n}");
            AssertBitwiseEqual(cExpected, c, $"c, H {n}");
            AssertBitwiseEqual(hExpected, h, $"h, H {n}");
        }
    }

    [Fact]
    public void Forward_InPlaceCellState_EqualsOutOfPlace()
    {
        var random = new Random(43);
        for (int n = 1; n <= 40; n++)
        {
            float[] pre = Uniform(random, 4 * n, -6, 6);
            float[] cPrev = Uniform(random, n, -3, 3);
            var g1 = (float[])pre.Clone();
            var c = new float[n];
            var h = new float[n];
            SimdLstm.Kernels.LstmPointwiseForward(g1, cPrev, c, h);
            var g2 = (float[])pre.Clone();
            var state = (float[])cPrev.Clone();
            var h2 = new float[n];
            SimdLstm.Kernels.LstmPointwiseForward(g2, state, state, h2);
            AssertBitwiseEqual(c, state, $"c in place, H {n}");
            AssertBitwiseEqual(h, h2, $"h with c in place, H {n}");
        }
    }

    [Fact]
    public void Backward_MatchesDoubleReference_AtEveryHiddenSizeAndOffset()
    {
        var random = new Random(44);
        foreach ((int n, int o1, int o2) in LengthsAndOffsets())
        {
            (float[] act, float[] cPrev, float[] c, float[] dH, float[] dCNext) = BackwardInputs(random, n);
            var gates = new GuardedBuffer(act, o1);
            var cp = new GuardedBuffer(cPrev, o2);
            var cc = new GuardedBuffer(c, (o1 + 2) % 8);
            var dh = new GuardedBuffer(dH, (o2 + 3) % 8);
            var dcn = new GuardedBuffer(dCNext, (o1 + 4) % 8);
            var dGates = new GuardedBuffer(4 * n, (o2 + 6) % 8);
            var dCPrev = new GuardedBuffer(n, (o1 + 7) % 8);
            SimdLstm.Kernels.LstmPointwiseBackward(gates.Span, cp.Span, cc.Span, dh.Span, dcn.Span, dGates.Span, dCPrev.Span);
            foreach (GuardedBuffer b in new[] { gates, cp, cc, dh, dcn, dGates, dCPrev })
                b.AssertGuardsIntact();
            AssertBackwardClose(act, cPrev, c, dH, dCNext, dGates.ToArray(), dCPrev.ToArray(), $"H {n}");
        }
    }

    [Fact]
    public void Backward_EqualsUnfusedKernels_Bitwise()
    {
        var random = new Random(45);
        for (int n = 0; n <= 100; n++)
        {
            (float[] act, float[] cPrev, float[] c, float[] dH, float[] dCNext) = BackwardInputs(random, n);
            var dGates = new float[4 * n];
            var dCPrev = new float[n];
            SimdLstm.Kernels.LstmPointwiseBackward(act, cPrev, c, dH, dCNext, dGates, dCPrev);

            var tc = new float[n];
            var tanhDerivC = new float[n];
            var sigmoidDeriv = new float[4 * n];
            var tanhDerivG = new float[n];
            SimdLstm.Kernels.Tanh(c, tc);
            SimdLstm.Kernels.TanhDerivativeFromOutput(tc, tanhDerivC);
            SimdLstm.Kernels.SigmoidDerivativeFromOutput(act, sigmoidDeriv);
            SimdLstm.Kernels.TanhDerivativeFromOutput(act.AsSpan(2 * n, n), tanhDerivG);
            var expected = new float[4 * n];
            var expectedDCPrev = new float[n];
            for (int j = 0; j < n; j++)
            {
                float i = act[j], f = act[n + j], g = act[2 * n + j], o = act[3 * n + j];
                float dc = MultiplyAdd.Invoke(dH[j] * o, tanhDerivC[j], dCNext[j]);
                expected[j] = dc * g * sigmoidDeriv[j];
                expected[n + j] = dc * cPrev[j] * sigmoidDeriv[n + j];
                expected[2 * n + j] = dc * i * tanhDerivG[j];
                expected[3 * n + j] = dH[j] * tc[j] * sigmoidDeriv[3 * n + j];
                expectedDCPrev[j] = dc * f;
            }

            AssertBitwiseEqual(expected, dGates, $"dGates, H {n}");
            AssertBitwiseEqual(expectedDCPrev, dCPrev, $"dCPrev, H {n}");
        }
    }

    [Fact]
    public void Backward_InPlace_EqualsOutOfPlace()
    {
        var random = new Random(46);
        for (int n = 1; n <= 40; n++)
        {
            (float[] act, float[] cPrev, float[] c, float[] dH, float[] dCNext) = BackwardInputs(random, n);
            var dGates = new float[4 * n];
            var dCPrev = new float[n];
            SimdLstm.Kernels.LstmPointwiseBackward(act, cPrev, c, dH, dCNext, dGates, dCPrev);
            var gatesInPlace = (float[])act.Clone();
            var carried = (float[])dCNext.Clone();
            SimdLstm.Kernels.LstmPointwiseBackward(gatesInPlace, cPrev, c, dH, carried, gatesInPlace, carried);
            AssertBitwiseEqual(dGates, gatesInPlace, $"dGates in place, H {n}");
            AssertBitwiseEqual(dCPrev, carried, $"dCPrev in place, H {n}");
        }
    }

    /// <summary>
    /// The double reference backward formulas are the true gradient of the double reference forward:
    /// for L = Σ dH⊙h + Σ dCNext⊙c, each of dI, dF, dG, dO and dCPrev is compared separately with central
    /// differences (step 1e-6: truncation ~1e-12, cancellation ~1e-10 at these magnitudes; tolerance 1e-7).
    /// </summary>
    [Property(MaxTest = 40)]
    public bool ReferenceBackward_MatchesFiniteDifferencesOfReferenceForward(int rawSize, int seed)
    {
        int n = 1 + (int)((uint)rawSize % 40);
        var random = new Random(seed);
        double[] pre = PointwiseReference.ToDouble(Uniform(random, 4 * n, -3, 3));
        double[] cPrev = PointwiseReference.ToDouble(Uniform(random, n, -2, 2));
        double[] dH = PointwiseReference.ToDouble(Uniform(random, n, -1, 1));
        double[] dCNext = PointwiseReference.ToDouble(Uniform(random, n, -1, 1));
        (double[] act, double[] c, _) = PointwiseReference.LstmForward(pre, cPrev);
        (double[] dGates, double[] dCPrev) = PointwiseReference.LstmBackward(act, cPrev, c, dH, dCNext);
        (double[] fdGates, double[] fdCPrev) = FiniteDifferences(pre, cPrev, dH, dCNext);
        string[] gateNames = ["dI", "dF", "dG", "dO"];
        for (int k = 0; k < 4 * n; k++)
        {
            if (Math.Abs(dGates[k] - fdGates[k]) > 1e-7)
                throw new InvalidOperationException($"{gateNames[k / n]}[{k % n}]: formula {dGates[k]:R}, finite differences {fdGates[k]:R}");
        }

        for (int j = 0; j < n; j++)
        {
            if (Math.Abs(dCPrev[j] - fdCPrev[j]) > 1e-7)
                throw new InvalidOperationException($"dCPrev[{j}]: formula {dCPrev[j]:R}, finite differences {fdCPrev[j]:R}");
        }

        return true;
    }

    /// <summary>
    /// The kernel's float backward against central differences of the double reference forward,
    /// run from the float pre-activations. The kernel sees the float forward's activations and c
    /// (within 16u and E relative of exact), and each output is a product of up to five such
    /// factors plus its own roundings: tolerance 200u times the magnitude of the formula's terms, plus
    /// the 1e-8 finite-difference error.
    /// </summary>
    [Property(MaxTest = 60)]
    public bool Backward_MatchesFiniteDifferencesOfDoubleReference(int rawSize, int seed)
    {
        int n = 1 + (int)((uint)rawSize % 40);
        var random = new Random(seed);
        float[] pre = Uniform(random, 4 * n, -3, 3);
        float[] cPrev = Uniform(random, n, -2, 2);
        float[] dH = Uniform(random, n, -1, 1);
        float[] dCNext = Uniform(random, n, -1, 1);
        var gates = (float[])pre.Clone();
        var c = new float[n];
        var h = new float[n];
        SimdLstm.Kernels.LstmPointwiseForward(gates, cPrev, c, h);
        var dGates = new float[4 * n];
        var dCPrev = new float[n];
        SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, c, dH, dCNext, dGates, dCPrev);

        (double[] fdGates, double[] fdCPrev) = FiniteDifferences(PointwiseReference.ToDouble(pre), PointwiseReference.ToDouble(cPrev), PointwiseReference.ToDouble(dH), PointwiseReference.ToDouble(dCNext));
        (double[] act, double[] cRef, _) = PointwiseReference.LstmForward(PointwiseReference.ToDouble(pre), PointwiseReference.ToDouble(cPrev));
        for (int j = 0; j < n; j++)
        {
            double i = act[j], f = act[n + j], g = act[2 * n + j], o = act[3 * n + j], tc = Math.Tanh(cRef[j]);
            double dcMagnitude = Math.Abs(dCNext[j]) + Math.Abs(dH[j] * o);
            double[] magnitudes =
            [
                dcMagnitude * Math.Abs(g) * i * (1 - i),
                dcMagnitude * Math.Abs(cPrev[j]) * f * (1 - f),
                dcMagnitude * i * (1 - g * g),
                Math.Abs(dH[j] * tc) * o * (1 - o),
            ];
            // Absolute errors the relative term above misses, where a float factor is a difference that cancels:
            // s(1 − s) from a float s with |Δs| ≤ 2u·s has |Δ| ≤ 2u·s (|1 − 2s| ≤ 1); 1 − g² from |Δg| ≤ 2u·|g| has |Δ| ≤ 4u·g²;
            // and c = f·cPrev + i·g, formed in float, has |Δc| ≤ 8u·(|f·cPrev| + |i·g|) even when the sum cancels to near 0,
            // which tanh (1-Lipschitz) passes on to tanh(c). Each is doubled. Found by 20,000-case runs: dO off by 2.5e-8 at
            // 4.5e-4 with tanh(c) near 0, dG off by 7.6e-8 at 5.4e-3 with g near ±1.
            double cMagnitude = Math.Abs(f * cPrev[j]) + Math.Abs(i * g);
            double[] inherited =
            [
                dcMagnitude * Math.Abs(g) * 4 * Eps * i,
                dcMagnitude * Math.Abs(cPrev[j]) * 4 * Eps * f,
                dcMagnitude * i * 8 * Eps * g * g,
                Math.Abs(dH[j]) * (Math.Abs(tc) * 4 * Eps * o + o * (1 - o) * 16 * Eps * cMagnitude),
            ];
            for (int gate = 0; gate < 4; gate++)
            {
                int k = gate * n + j;
                if (Math.Abs(dGates[k] - fdGates[k]) > 200 * Eps * magnitudes[gate] + inherited[gate] + 1e-8)
                    throw new InvalidOperationException($"H {n}, gate {gate}, j {j}: kernel {dGates[k]:R}, finite differences {fdGates[k]:R}");
            }

            if (Math.Abs(dCPrev[j] - fdCPrev[j]) > 200 * Eps * dcMagnitude * f + 1e-8)
                throw new InvalidOperationException($"H {n}, dCPrev[{j}]: kernel {dCPrev[j]:R}, finite differences {fdCPrev[j]:R}");
        }

        return true;
    }

    [Fact]
    public void Forward_ThrowsForBadArguments_AndWritesNothing()
    {
        const int n = 5;
        float[] gates = new float[4 * n], cPrev = new float[n], c = new float[n], h = new float[n];
        gates.AsSpan().Fill(2f);
        c.AsSpan().Fill(3f);
        h.AsSpan().Fill(4f);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseForward(new float[10], new float[2], new float[2], new float[2]), "gates", 4, 10);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseForward(gates, new float[n + 1], c, h), "cPrev", n, n + 1);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseForward(gates, cPrev, new float[n - 1], h), "c", n, n - 1);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseForward(gates, cPrev, c, new float[2 * n]), "h", n, 2 * n);
        AssertArgumentError(() => SimdLstm.Kernels.LstmPointwiseForward(gates, cPrev, c, gates.AsSpan(n, n)), "h");
        AssertArgumentError(() => SimdLstm.Kernels.LstmPointwiseForward(gates, cPrev, gates.AsSpan(3, n), h), "c");
        var state = new float[n + 2];
        AssertArgumentError(() => SimdLstm.Kernels.LstmPointwiseForward(gates, state.AsSpan(0, n), state.AsSpan(1, n), h), "c");
        AssertArgumentError(() => SimdLstm.Kernels.LstmPointwiseForward(gates, cPrev, c, c), "h");
        AssertAllEqual(2f, gates);
        AssertAllEqual(3f, c);
        AssertAllEqual(4f, h);
    }

    [Fact]
    public void Backward_ThrowsForBadArguments_AndWritesNothing()
    {
        const int n = 4;
        float[] gates = new float[4 * n], cPrev = new float[n], c = new float[n], dH = new float[n], dCNext = new float[n];
        float[] dGates = new float[4 * n], dCPrev = new float[n];
        dGates.AsSpan().Fill(5f);
        dCPrev.AsSpan().Fill(6f);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseBackward(new float[7], cPrev, c, dH, dCNext, new float[7], dCPrev), "gates", 4, 7);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, new float[3], c, dH, dCNext, dGates, dCPrev), "cPrev", n, 3);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, new float[5], dH, dCNext, dGates, dCPrev), "c", n, 5);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, c, new float[1], dCNext, dGates, dCPrev), "dH", n, 1);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, c, dH, new float[0], dGates, dCPrev), "dCNext", n, 0);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, c, dH, dCNext, new float[4 * n - 1], dCPrev), "dGates", 4 * n, 4 * n - 1);
        AssertLengthError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, c, dH, dCNext, dGates, new float[n + 3]), "dCPrev", n, n + 3);
        AssertArgumentError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, c, dH, dCNext, dGates, dH), "dCPrev");
        AssertArgumentError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, c, dH, dCNext, dGates, dGates.AsSpan(2, n)), "dCPrev");
        var shared = new float[4 * n + 1];
        AssertArgumentError(() => SimdLstm.Kernels.LstmPointwiseBackward(shared.AsSpan(0, 4 * n), cPrev, c, dH, dCNext, shared.AsSpan(1, 4 * n), dCPrev), "dGates");
        AssertArgumentError(() => SimdLstm.Kernels.LstmPointwiseBackward(gates, cPrev, c, dH, dCNext, dGates, cPrev), "dCPrev");
        AssertAllEqual(5f, dGates);
        AssertAllEqual(6f, dCPrev);
    }

    /// <summary>Saved activations and cell states as a real forward pass produces them, and random incoming gradients.</summary>
    private static (float[] Act, float[] CPrev, float[] C, float[] DH, float[] DCNext) BackwardInputs(Random random, int n)
    {
        float[] act = Uniform(random, 4 * n, -6, 6);
        float[] cPrev = Uniform(random, n, -3, 3);
        var c = new float[n];
        SimdLstm.Kernels.LstmPointwiseForward(act, cPrev, c, new float[n]);
        return (act, cPrev, c, Uniform(random, n, -2, 2), Uniform(random, n, -2, 2));
    }

    private static void AssertBackwardClose(float[] act, float[] cPrev, float[] c, float[] dH, float[] dCNext, float[] dGates, float[] dCPrev, string where)
    {
        int n = cPrev.Length;
        (double[] refGates, double[] refCPrev) = PointwiseReference.LstmBackward(
            PointwiseReference.ToDouble(act), PointwiseReference.ToDouble(cPrev), PointwiseReference.ToDouble(c), PointwiseReference.ToDouble(dH), PointwiseReference.ToDouble(dCNext));
        for (int j = 0; j < n; j++)
        {
            double i = act[j], f = act[n + j], g = act[2 * n + j], o = act[3 * n + j];
            double tc = Math.Tanh(c[j]);
            double dc = dCNext[j] + dH[j] * o * (1 - tc * tc);

            // 1 − tc² is off by at most 2|tc|·16u·|tc| + 3u(1 − tc²) ≤ E; dc adds two roundings.
            double tolDc = 2 * E * Math.Abs(dH[j] * o) + Eps * Math.Abs(dc);
            Check(j, refGates[j], dGates[j], tolDc * Math.Abs(g * i * (1 - i)) + 5 * Eps * Math.Abs(refGates[j]), "dI");
            Check(n + j, refGates[n + j], dGates[n + j], tolDc * Math.Abs(cPrev[j] * f * (1 - f)) + 5 * Eps * Math.Abs(refGates[n + j]), "dF");
            Check(2 * n + j, refGates[2 * n + j], dGates[2 * n + j], tolDc * Math.Abs(i * (1 - g * g)) + 4 * Eps * Math.Abs(refGates[2 * n + j]), "dG");
            Check(3 * n + j, refGates[3 * n + j], dGates[3 * n + j], (E + 5 * Eps) * Math.Abs(refGates[3 * n + j]), "dO");
            Check(j, refCPrev[j], dCPrev[j], tolDc * f + Eps * Math.Abs(refCPrev[j]), "dCPrev");
        }

        void Check(int k, double exact, float actual, double tolerance, string name)
        {
            if (!(Math.Abs(actual - exact) <= tolerance + 1e-38))
                Assert.Fail($"{where}: {name} element {k}: got {actual:R}, exact {exact:R}, tolerance {tolerance:G3}");
        }
    }

    /// <summary>Central differences of L = Σ dH⊙h + Σ dCNext⊙c through the double reference forward.</summary>
    private static (double[] DGates, double[] DCPrev) FiniteDifferences(double[] pre, double[] cPrev, double[] dH, double[] dCNext)
    {
        const double step = 1e-6;
        double Loss(double[] p, double[] cp)
        {
            (_, double[] c, double[] h) = PointwiseReference.LstmForward(p, cp);
            double loss = 0;
            for (int j = 0; j < c.Length; j++)
                loss += dH[j] * h[j] + dCNext[j] * c[j];
            return loss;
        }

        var dGates = new double[pre.Length];
        for (int k = 0; k < pre.Length; k++)
        {
            double saved = pre[k];
            pre[k] = saved + step;
            double up = Loss(pre, cPrev);
            pre[k] = saved - step;
            double down = Loss(pre, cPrev);
            pre[k] = saved;
            dGates[k] = (up - down) / (2 * step);
        }

        var dCPrev = new double[cPrev.Length];
        for (int j = 0; j < cPrev.Length; j++)
        {
            double saved = cPrev[j];
            cPrev[j] = saved + step;
            double up = Loss(pre, cPrev);
            cPrev[j] = saved - step;
            double down = Loss(pre, cPrev);
            cPrev[j] = saved;
            dCPrev[j] = (up - down) / (2 * step);
        }

        return (dGates, dCPrev);
    }
}
