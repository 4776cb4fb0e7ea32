using System;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// The prepacked-B product (<c>Kernels.PackGemmB</c> once, then <c>Kernels.GemmPackedB</c>: C = A·op(B) + β·C) against a
/// double-precision loop written here, and bitwise against <see cref="SimdLstm.Kernels.Gemm"/> on the same data (the
/// layers rely on that: packing the recurrent weights once per pass must not change a single result bit).
/// </summary>
public class GemmPackedBTests
{
    /// <summary>One generated problem; data comes from <see cref="Seed"/>, so a failing case replays exactly.</summary>
    public sealed record PackedCase(Transpose TransB, int M, int N, int K, float Beta, int PadA, int PadB, int PadC,
        int OffsetA, int OffsetPacked, int OffsetC, int Seed);

    // Sizes 0..70 with extra weight on the tile edges: Gemm's (6-row panels, 16- and 8-column panels) and the
    // prepacked product's own (4-row panels, 24- and 12-column panels).
    private static readonly Gen<int> Size = Gen.Frequency(
        (3, Gen.Choose(0, 70)),
        (1, Gen.Elements(0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 15, 16, 17, 23, 24, 25, 32, 33, 47, 48, 49)));

    private static readonly Gen<PackedCase> Cases =
        from transB in Gen.Elements(Transpose.None, Transpose.Transposed)
        from m in Size
        from n in Size
        from k in Size
        from beta in Gen.Elements(0f, 1f, -0.75f)
        from padA in Gen.Choose(0, 5)
        from padB in Gen.Choose(0, 5)
        from padC in Gen.Choose(0, 5)
        from offsetA in Gen.Choose(0, 7)
        from offsetPacked in Gen.Choose(0, 7)
        from offsetC in Gen.Choose(0, 7)
        from seed in Gen.Choose(0, int.MaxValue)
        select new PackedCase(transB, m, n, k, beta, padA, padB, padC, offsetA, offsetPacked, offsetC, seed);

    [Property(MaxTest = 200)]
    public Property GemmPackedB_MatchesReferenceAndGemm_RandomShapes() =>
        Prop.ForAll(Cases.ToArbitrary(), Check);

    [Theory]
    [InlineData(Transpose.None)]
    [InlineData(Transpose.Transposed)]
    public void GemmPackedB_MatchesReferenceAndGemm_AcrossBlocks(Transpose transB)
    {
        // m = 151 crosses the 144-row block; n = 2050 crosses Gemm's 2048-column block (the packed path has none,
        // so this checks the two still agree bitwise); k = 520 gives three depth blocks of the packed layout.
        Check(new PackedCase(transB, 151, 2050, 520, 1f, 1, 2, 3, 1, 2, 3, 7));
    }

    [Theory]
    [InlineData(Transpose.None)]
    [InlineData(Transpose.Transposed)]
    public void GemmPackedB_MatchesReferenceAndGemm_RecurrentShapes(Transpose transB)
    {
        // The layer's shapes: a batch of 32 rows against W_hh (n = 4H, k = H forward; n = H, k = 4H backward).
        Check(new PackedCase(transB, 32, 4 * 72, 72, 1f, 0, 0, 0, 0, 0, 0, 11));
        Check(new PackedCase(transB, 32, 72, 4 * 72, 0f, 0, 0, 0, 0, 0, 0, 12));
    }

    [Theory]
    [InlineData(Transpose.None, 16, 4 * 100, 100)]     // two threads' half batch; n = 400 is not a multiple of 24 (or 12)
    [InlineData(Transpose.Transposed, 16, 100, 4 * 100)] // k = 400 crosses the 256-deep block
    [InlineData(Transpose.None, 30, 3 * 70, 70)]       // m = 30: a 2-row edge tile under the 4-row kernel
    [InlineData(Transpose.Transposed, 33, 4 * 67, 267)] // m = 33, n = 268 (a 4-column edge), k = 267 crosses 256
    [InlineData(Transpose.Transposed, 31, 4 * 64, 256)] // m = 31, n = 256 (a 16-column edge panel), k exactly one block
    [InlineData(Transpose.None, 17, 25, 513)]           // one column past a 24-wide panel, k over two blocks
    public void GemmPackedB_MatchesReferenceAndGemm_TileEdges(Transpose transB, int m, int n, int k)
    {
        // The 4 × 24 (Vector256) and 4 × 12 (Vector128) tiles' edges in every direction, at unaligned offsets and
        // padded strides, with β = 1, 0 and -0.75.
        Check(new PackedCase(transB, m, n, k, 1f, 1, 3, 2, 3, 5, 1, 21));
        Check(new PackedCase(transB, m, n, k, 0f, 0, 1, 5, 1, 3, 7, 22));
        Check(new PackedCase(transB, m, n, k, -0.75f, 2, 0, 1, 7, 1, 2, 23));
    }

    [Fact]
    public void GemmPackedB_ResultsDoNotDependOnAlignment()
    {
        float[] expected = RunAtOffsets(0, 0, 0);
        for (int offset = 1; offset < 8; offset++)
        {
            Assert.Equal(expected, RunAtOffsets(offset, 0, 0));
            Assert.Equal(expected, RunAtOffsets(0, offset, 0));
            Assert.Equal(expected, RunAtOffsets(0, 0, offset));
        }
    }

    [Fact]
    public void GemmPackedB_SteadyState_AllocatesNothing()
    {
        const int m = 32, n = 300, k = 260;
        float[] a = new float[m * k], b = new float[n * k], c = new float[m * n];
        float[] packed = new float[SimdLstm.Kernels.PackedBLength(k, n)];
        SimdLstm.Kernels.PackGemmB(Transpose.Transposed, k, n, b, k, packed);
        SimdLstm.Kernels.GemmPackedB(m, n, k, a, k, packed, 0f, c, n);

        Allocations.AssertNone(() =>
        {
            SimdLstm.Kernels.PackGemmB(Transpose.Transposed, k, n, b, k, packed);
            SimdLstm.Kernels.PackGemmB(Transpose.None, k, n, b, n, packed);
            SimdLstm.Kernels.GemmPackedB(m, n, k, a, k, packed, 1f, c, n);
            SimdLstm.Kernels.GemmPackedB(7, n, k, a, k, packed, 0f, c, n);
        }, count: 3);
    }

    [Fact]
    public void GemmPackedB_ThrowsForBadArgumentsBeforeWriting()
    {
        // A [3, 4], op(B) [4, 5], C [3, 5], tight strides.
        float[] a = new float[12];
        float[] packed = new float[SimdLstm.Kernels.PackedBLength(4, 5)];
        AssertThrowsUntouched("m", c => SimdLstm.Kernels.GemmPackedB(-1, 5, 4, a, 4, packed, 0f, c, 5), 15);
        AssertThrowsUntouched("n", c => SimdLstm.Kernels.GemmPackedB(3, -1, 4, a, 4, packed, 0f, c, 5), 15);
        AssertThrowsUntouched("k", c => SimdLstm.Kernels.GemmPackedB(3, 5, -1, a, 4, packed, 0f, c, 5), 15);
        AssertThrowsUntouched("lda", c => SimdLstm.Kernels.GemmPackedB(3, 5, 4, a, 3, packed, 0f, c, 5), 15);
        AssertThrowsUntouched("a", c => SimdLstm.Kernels.GemmPackedB(3, 5, 4, a.AsSpan(1), 4, packed, 0f, c, 5), 15);
        AssertThrowsUntouched("packedB", c => SimdLstm.Kernels.GemmPackedB(3, 5, 4, a, 4, packed.AsSpan(1), 0f, c, 5), 15);
        AssertThrowsUntouched("ldc", c => SimdLstm.Kernels.GemmPackedB(3, 5, 4, a, 4, packed, 0f, c, 4), 15);
        AssertThrowsUntouched("c", c => SimdLstm.Kernels.GemmPackedB(3, 5, 4, a, 4, packed, 0f, c, 5), 14);

        // PackB: B [4, 5] (or stored [5, 4] transposed).
        float[] b = new float[20];
        AssertThrowsUntouched("k", p => SimdLstm.Kernels.PackGemmB(Transpose.None, -1, 5, b, 5, p), packed.Length);
        AssertThrowsUntouched("n", p => SimdLstm.Kernels.PackGemmB(Transpose.None, 4, -1, b, 5, p), packed.Length);
        AssertThrowsUntouched("transB", p => SimdLstm.Kernels.PackGemmB((Transpose)2, 4, 5, b, 5, p), packed.Length);
        AssertThrowsUntouched("ldb", p => SimdLstm.Kernels.PackGemmB(Transpose.None, 4, 5, b, 4, p), packed.Length);
        AssertThrowsUntouched("b", p => SimdLstm.Kernels.PackGemmB(Transpose.Transposed, 4, 5, b.AsSpan(1), 4, p), packed.Length);
        AssertThrowsUntouched("packed", p => SimdLstm.Kernels.PackGemmB(Transpose.None, 4, 5, b, 5, p), packed.Length - 1);

        // C overlapping A or the packed B is refused before anything is written.
        float[] storage = new float[packed.Length + 64];
        storage.AsSpan().Fill(2f);
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() =>
            SimdLstm.Kernels.GemmPackedB(3, 5, 4, storage.AsSpan(0, 12), 4, storage.AsSpan(40, packed.Length), 0f, storage.AsSpan(11, 15), 5));
        Assert.Equal("c", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() =>
            SimdLstm.Kernels.GemmPackedB(3, 5, 4, storage.AsSpan(0, 12), 4, storage.AsSpan(20, packed.Length), 0f, storage.AsSpan(25, 15), 5));
        Assert.Equal("c", e.ParamName);
        Assert.All(storage, v => Assert.Equal(2f, v));
    }

    private static bool Check(PackedCase g)
    {
        var random = new Random(g.Seed);
        bool bT = g.TransB == Transpose.Transposed;
        int bRows = bT ? g.N : g.K, bCols = bT ? g.K : g.N;
        var a = new GemmTestMatrix(g.M, g.K, Math.Max(1, g.K + g.PadA), g.OffsetA, random, float.NaN);
        var b = new GemmTestMatrix(bRows, bCols, Math.Max(1, bCols + g.PadB), 0, random, float.NaN);
        var c = new GemmTestMatrix(g.M, g.N, Math.Max(1, g.N + g.PadC), g.OffsetC, random, GuardedBuffer.Sentinel);
        if (g.Beta == 0f)
        {
            // β = 0 must overwrite C without reading it: NaN left in C would show in the result.
            for (int i = 0; i < g.M; i++)
            {
                for (int j = 0; j < g.N; j++)
                    c[i, j] = float.NaN;
            }
        }

        float[] c0 = c.Span.ToArray();
        var packed = new GuardedBuffer(SimdLstm.Kernels.PackedBLength(g.K, g.N), g.OffsetPacked);
        SimdLstm.Kernels.PackGemmB(g.TransB, g.K, g.N, b.Span, b.Stride, packed.Span);
        packed.AssertGuardsIntact();
        SimdLstm.Kernels.GemmPackedB(g.M, g.N, g.K, a.Span, a.Stride, packed.Span, g.Beta, c.Span, c.Stride);
        packed.AssertGuardsIntact();
        c.AssertPaddingIntact();

        // The ordinary product on the same data must agree bit for bit.
        float[] viaGemm = (float[])c0.Clone();
        SimdLstm.Kernels.Gemm(Transpose.None, g.TransB, g.M, g.N, g.K, 1f, a.Span, a.Stride, b.Span, b.Stride, g.Beta, viaGemm, c.Stride);
        float[] actual = c.Span.ToArray();
        for (int i = 0; i < actual.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(viaGemm[i]))
                Assert.Fail($"{g}: element {i} is {actual[i]:R} packed but {viaGemm[i]:R} through Gemm");
        }

        for (int i = 0; i < g.M; i++)
        {
            for (int j = 0; j < g.N; j++)
            {
                double exact = g.Beta == 0f ? 0 : g.Beta * (double)c0[i * c.Stride + j];
                double magnitude = Math.Abs(exact);
                for (int p = 0; p < g.K; p++)
                {
                    double product = (double)a[i, p] * (bT ? b[j, p] : b[p, j]);
                    exact += product;
                    magnitude += Math.Abs(product);
                }

                // k products plus β·C and the final addition: the summation bound of AssertClose with k + 2 terms.
                GemmTestMatrix.AssertClose(exact, magnitude, c[i, j], g.K + 2, $"{g}: C[{i}, {j}]");
            }
        }

        return true;
    }

    private static float[] RunAtOffsets(int offsetA, int offsetPacked, int offsetC)
    {
        const int m = 37, n = 53, k = 300;
        var random = new Random(99);
        var a = new GemmTestMatrix(m, k, k + 3, offsetA, random, float.NaN);
        var b = new GemmTestMatrix(n, k, k + 1, 0, random, float.NaN);
        var c = new GemmTestMatrix(m, n, n + 2, offsetC, random, GuardedBuffer.Sentinel);
        var packed = new GuardedBuffer(SimdLstm.Kernels.PackedBLength(k, n), offsetPacked);
        SimdLstm.Kernels.PackGemmB(Transpose.Transposed, k, n, b.Span, b.Stride, packed.Span);
        SimdLstm.Kernels.GemmPackedB(m, n, k, a.Span, a.Stride, packed.Span, 0.5f, c.Span, c.Stride);
        c.AssertPaddingIntact();
        packed.AssertGuardsIntact();
        return c.Span.ToArray();
    }

    private delegate void SpanCall(Span<float> destination);

    private static void AssertThrowsUntouched(string paramName, SpanCall call, int length)
    {
        var destination = new GuardedBuffer(length);
        GuardedBuffer captured = destination;
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => call(captured.Span));
        Assert.Equal(paramName, e.ParamName);
        Assert.All(destination.ToArray(), v => Assert.Equal(GuardedBuffer.Sentinel, v));
        destination.AssertGuardsIntact();
    }
}
