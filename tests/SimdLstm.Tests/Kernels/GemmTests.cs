using System;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// <see cref="SimdLstm.Kernels.Gemm"/> (C = α·op(A)·op(B) + β·C) against a double-precision triple loop written
/// here: a property over random small shapes, strides, offsets, transposes and scales; large shapes that
/// cross every cache-block and packing edge; β = 0 semantics; alignment independence; argument checks.
/// </summary>
public class GemmTests
{
    /// <summary>One generated GEMM problem. Data comes from <see cref="Seed"/>, so a failing case replays exactly.</summary>
    public sealed record GemmCase(
        Transpose TransA, Transpose TransB, int M, int N, int K, float Alpha, float Beta,
        int PadA, int PadB, int PadC, int OffsetA, int OffsetB, int OffsetC, int Seed);

    // Sizes 0..70 with extra weight on the edges of the 6 × 16 / 6 × 8 tiles (0, 1, 5–8, 15–17).
    private static readonly Gen<int> Size = Gen.Frequency(
        (3, Gen.Choose(0, 70)),
        (1, Gen.Elements(0, 1, 2, 5, 6, 7, 8, 15, 16, 17)));

    private static readonly Gen<Transpose> Trans = Gen.Elements(Transpose.None, Transpose.Transposed);

    private static readonly Gen<GemmCase> Cases =
        from transA in Trans
        from transB in Trans
        from m in Size
        from n in Size
        from k in Size
        from alpha in Gen.Elements(0f, 1f, -1f, 0.5f, 1.75f, -0.3f)
        from beta in Gen.Elements(0f, 1f, -0.75f, 2f)
        from padA in Gen.Choose(0, 5)
        from padB in Gen.Choose(0, 5)
        from padC in Gen.Choose(0, 5)
        from offsetA in Gen.Choose(0, 7)
        from offsetB in Gen.Choose(0, 7)
        from offsetC in Gen.Choose(0, 7)
        from seed in Gen.Choose(0, int.MaxValue)
        select new GemmCase(transA, transB, m, n, k, alpha, beta, padA, padB, padC, offsetA, offsetB, offsetC, seed);

    [Property(MaxTest = 300)]
    public Property Gemm_MatchesDoubleReference_RandomShapes() =>
        Prop.ForAll(Cases.ToArbitrary(), CheckGemm);

    [Theory]
    [InlineData(Transpose.None, Transpose.None)]
    [InlineData(Transpose.None, Transpose.Transposed)]
    [InlineData(Transpose.Transposed, Transpose.None)]
    [InlineData(Transpose.Transposed, Transpose.Transposed)]
    public void Gemm_MatchesDoubleReference_AcrossCacheBlocks(Transpose transA, Transpose transB)
    {
        // m = 151: one full 144-row block, then a 7-row block (one full and one partial 6-row panel).
        // n = 300: 18 full 16-column panels and a 12-wide one (37 + 4 for the 8-wide Vector128 panels).
        // k = 520: two full 256-deep blocks and an 8-deep one, so C is accumulated over three k-blocks.
        CheckGemm(new GemmCase(transA, transB, 151, 300, 520, 0.75f, -0.5f, 3, 1, 5, 1, 2, 3, 42));
    }

    [Theory]
    [InlineData(Transpose.None, Transpose.None)]
    [InlineData(Transpose.Transposed, Transpose.Transposed)]
    public void Gemm_MatchesDoubleReference_AcrossColumnBlocks(Transpose transA, Transpose transB)
    {
        // n = 2050 crosses the 2048-column B block; k = 257 crosses a k-block by one.
        CheckGemm(new GemmCase(transA, transB, 7, 2050, 257, 1f, 1f, 0, 2, 1, 5, 6, 7, 43));
    }

    [Fact]
    public void Gemm_BetaZero_IgnoresNaNInC()
    {
        // The property also fills C with NaN whenever β = 0; this states the contract on its own, with
        // α = 0 (no product at all) and with k = 0, where BLAS also must not read C.
        foreach ((int k, float alpha) in new[] { (9, 1f), (0, 1f), (9, 0f) })
        {
            var random = new Random(5);
            var a = new GemmTestMatrix(4, Math.Max(k, 0), Math.Max(k, 1), 0, random, float.NaN);
            var b = new GemmTestMatrix(k, 10, 10, 0, random, float.NaN);
            var c = new GemmTestMatrix(4, 10, 12, 1, random, GuardedBuffer.Sentinel);
            for (int i = 0; i < 4; i++)
            {
                for (int j = 0; j < 10; j++)
                    c[i, j] = float.NaN;
            }

            SimdLstm.Kernels.Gemm(Transpose.None, Transpose.None, 4, 10, k, alpha, a.Span, a.Stride, b.Span, b.Stride, 0f, c.Span, c.Stride);
            for (int i = 0; i < 4; i++)
            {
                for (int j = 0; j < 10; j++)
                    Assert.True(float.IsFinite(c[i, j]), $"k {k}, α {alpha}: C[{i}, {j}] = {c[i, j]}");
            }

            if (k == 0 || alpha == 0f)
                Assert.All(c.Span.ToArray(), v => Assert.True(v == 0f || v == GuardedBuffer.Sentinel));
            c.AssertPaddingIntact();
        }
    }

    [Theory]
    [InlineData(Transpose.None, Transpose.None)]
    [InlineData(Transpose.None, Transpose.Transposed)]
    [InlineData(Transpose.Transposed, Transpose.None)]
    [InlineData(Transpose.Transposed, Transpose.Transposed)]
    public void Gemm_ResultsDoNotDependOnAlignment(Transpose transA, Transpose transB)
    {
        float[] expected = RunAtOffsets(transA, transB, 0, 0, 0);
        Assert.Equal(expected, RunAtOffsets(transA, transB, 0, 0, 0));
        for (int offset = 1; offset < 8; offset++)
        {
            Assert.Equal(expected, RunAtOffsets(transA, transB, offset, 0, 0));
            Assert.Equal(expected, RunAtOffsets(transA, transB, 0, offset, 0));
            Assert.Equal(expected, RunAtOffsets(transA, transB, 0, 0, offset));
        }
    }

    [Fact]
    public void Gemm_SteadyState_AllocatesNothing()
    {
        // The first call on a thread may allocate its packing scratch; repeated calls of the same or a
        // smaller shape, and the vector kernels, must not allocate at all.
        const int m = 150, n = 300, k = 260;
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n], x = new float[k], y = new float[m];
        SimdLstm.Kernels.Gemm(Transpose.None, Transpose.Transposed, m, n, k, 1f, a, k, b, k, 0f, c, n);
        SimdLstm.Kernels.Gemv(a, m, k, k, x, y);
        SimdLstm.Kernels.GemvTransposed(a, m, k, k, y, x);
        SimdLstm.Kernels.Ger(0.5f, y, x, a, m, k, k);

        Transpose[] transposes = [Transpose.None, Transpose.Transposed];
        Allocations.AssertNone(() =>
        {
            foreach (Transpose transA in transposes)
            {
                SimdLstm.Kernels.Gemm(transA, Transpose.None, m, n, k, 1f, a, transA == Transpose.None ? k : m, b, n, 0.5f, c, n);
                SimdLstm.Kernels.Gemm(transA, Transpose.Transposed, m, n, k, 1f, a, transA == Transpose.None ? k : m, b, k, 0f, c, n);
            }

            SimdLstm.Kernels.Gemm(Transpose.None, Transpose.None, 7, 9, 5, 1f, a, 5, b, 9, 1f, c, 9);
            SimdLstm.Kernels.Gemv(a, m, k, k, x, y);
            SimdLstm.Kernels.GemvTransposed(a, m, k, k, y, x);
            SimdLstm.Kernels.Ger(0.5f, y, x, a, m, k, k);
        }, count: 3);
    }

    [Fact]
    public void Gemm_ThrowsForBadArgumentsBeforeWriting()
    {
        // A [3, 4], B [4, 5], C [3, 5] untransposed, tight strides.
        float[] a = new float[12], b = new float[20];
        const Transpose N = Transpose.None, T = Transpose.Transposed;
        AssertThrowsUntouched("m", c => SimdLstm.Kernels.Gemm(N, N, -1, 5, 4, 1f, a, 4, b, 5, 0f, c, 5), 15);
        AssertThrowsUntouched("n", c => SimdLstm.Kernels.Gemm(N, N, 3, -1, 4, 1f, a, 4, b, 5, 0f, c, 5), 15);
        AssertThrowsUntouched("k", c => SimdLstm.Kernels.Gemm(N, N, 3, 5, -1, 1f, a, 4, b, 5, 0f, c, 5), 15);
        AssertThrowsUntouched("transA", c => SimdLstm.Kernels.Gemm((Transpose)2, N, 3, 5, 4, 1f, a, 4, b, 5, 0f, c, 5), 15);
        AssertThrowsUntouched("transB", c => SimdLstm.Kernels.Gemm(N, (Transpose)(-1), 3, 5, 4, 1f, a, 4, b, 5, 0f, c, 5), 15);
        AssertThrowsUntouched("lda", c => SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, a, 3, b, 5, 0f, c, 5), 15);
        AssertThrowsUntouched("a", c => SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, a, 5, b, 5, 0f, c, 5), 15);
        AssertThrowsUntouched("lda", c => SimdLstm.Kernels.Gemm(T, N, 3, 5, 4, 1f, a, 2, b, 5, 0f, c, 5), 15);    // Aᵀ stored [4, 3]
        AssertThrowsUntouched("a", c => SimdLstm.Kernels.Gemm(T, N, 3, 5, 4, 1f, a.AsSpan(1), 3, b, 5, 0f, c, 5), 15);
        AssertThrowsUntouched("ldb", c => SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, a, 4, b, 4, 0f, c, 5), 15);
        AssertThrowsUntouched("b", c => SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, a, 4, b.AsSpan(1), 5, 0f, c, 5), 15);
        AssertThrowsUntouched("b", c => SimdLstm.Kernels.Gemm(N, T, 3, 5, 4, 1f, a, 4, b, 5, 0f, c, 5), 15);      // Bᵀ stored [5, 4] needs 24 at stride 5
        AssertThrowsUntouched("ldc", c => SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, a, 4, b, 5, 0f, c, 4), 15);
        AssertThrowsUntouched("c", c => SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, a, 4, b, 5, 0f, c, 5), 14);
        AssertThrowsUntouched("c", c => SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, a, 4, b, 5, 0f, c, 6), 15);

        // C overlapping A or B is refused before anything is written.
        float[] storage = new float[64];
        storage.AsSpan().Fill(2f);
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() =>
            SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, storage.AsSpan(0, 12), 4, storage.AsSpan(40, 20), 5, 0f, storage.AsSpan(11, 15), 5));
        Assert.Equal("c", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() =>
            SimdLstm.Kernels.Gemm(N, N, 3, 5, 4, 1f, storage.AsSpan(0, 12), 4, storage.AsSpan(20, 20), 5, 0f, storage.AsSpan(30, 15), 5));
        Assert.Equal("c", e.ParamName);
        Assert.All(storage, v => Assert.Equal(2f, v));
    }

    private static bool CheckGemm(GemmCase g)
    {
        var random = new Random(g.Seed);
        bool aT = g.TransA == Transpose.Transposed, bT = g.TransB == Transpose.Transposed;
        int aRows = aT ? g.K : g.M, aCols = aT ? g.M : g.K;
        int bRows = bT ? g.N : g.K, bCols = bT ? g.K : g.N;
        var a = new GemmTestMatrix(aRows, aCols, Math.Max(1, aCols + g.PadA), g.OffsetA, random, float.NaN);
        var b = new GemmTestMatrix(bRows, bCols, Math.Max(1, bCols + g.PadB), g.OffsetB, random, float.NaN);
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

        var c0 = new double[g.M, g.N];
        for (int i = 0; i < g.M; i++)
        {
            for (int j = 0; j < g.N; j++)
                c0[i, j] = g.Beta == 0f ? 0 : c[i, j];
        }

        SimdLstm.Kernels.Gemm(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, a.Span, a.Stride, b.Span, b.Stride, g.Beta, c.Span, c.Stride);

        // op(A) row-wise and op(B) column-wise in double, so the reference loop is a plain dot product.
        var opA = new double[g.M * g.K];
        var opBt = new double[g.N * g.K];
        for (int p = 0; p < g.K; p++)
        {
            for (int i = 0; i < g.M; i++)
                opA[i * g.K + p] = aT ? a[p, i] : a[i, p];
            for (int j = 0; j < g.N; j++)
                opBt[j * g.K + p] = bT ? b[j, p] : b[p, j];
        }

        for (int i = 0; i < g.M; i++)
        {
            for (int j = 0; j < g.N; j++)
            {
                double exact = g.Beta * c0[i, j], magnitude = Math.Abs(exact);
                for (int p = 0; p < g.K; p++)
                {
                    double product = g.Alpha * opA[i * g.K + p] * opBt[j * g.K + p];
                    exact += product;
                    magnitude += Math.Abs(product);
                }

                // k products plus β·C: the k-term sum, the α scaling, β·C and the final addition (see AssertClose).
                GemmTestMatrix.AssertClose(exact, magnitude, c[i, j], g.K + 3, $"{g}: C[{i}, {j}]");
            }
        }

        c.AssertPaddingIntact();
        return true;
    }

    /// <summary>A shape with full and partial tiles that crosses a k-block; the same data at the given offsets.</summary>
    private static float[] RunAtOffsets(Transpose transA, Transpose transB, int offsetA, int offsetB, int offsetC)
    {
        const int m = 37, n = 53, k = 300;
        var random = new Random(99);
        bool aT = transA == Transpose.Transposed, bT = transB == Transpose.Transposed;
        var a = new GemmTestMatrix(aT ? k : m, aT ? m : k, (aT ? m : k) + 3, offsetA, random, float.NaN);
        var b = new GemmTestMatrix(bT ? n : k, bT ? k : n, (bT ? k : n) + 1, offsetB, random, float.NaN);
        var c = new GemmTestMatrix(m, n, n + 2, offsetC, random, GuardedBuffer.Sentinel);
        SimdLstm.Kernels.Gemm(transA, transB, m, n, k, 1.5f, a.Span, a.Stride, b.Span, b.Stride, 0.5f, c.Span, c.Stride);
        c.AssertPaddingIntact();
        return c.Span.ToArray();
    }

    private delegate void GemmCall(Span<float> c);

    private static void AssertThrowsUntouched(string paramName, GemmCall call, int cLength)
    {
        var c = new GuardedBuffer(cLength);
        GuardedBuffer captured = c;
        ArgumentException e = Assert.ThrowsAny<ArgumentException>(() => call(captured.Span));
        Assert.Equal(paramName, e.ParamName);
        Assert.All(c.ToArray(), v => Assert.Equal(GuardedBuffer.Sentinel, v));
        c.AssertGuardsIntact();
    }
}
