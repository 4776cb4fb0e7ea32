using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// The gate-panel formats below float32 (<see cref="BFloat16PanelWeights"/>, <see cref="Int8PanelWeights"/>) and the
/// format-generic product driver <see cref="SimdLstm.Kernels.PanelGemvBlocks"/>: packing (what each weight becomes),
/// the input quantisation of int8, and the product y += A·xa + B·xb — against a double-precision sum over the
/// format's effective weights within a derived bound, and bitwise against the documented formula written here (float
/// multiply-adds in the documented order for bfloat16; the exact integer sum, one conversion and one multiply-add for
/// int8). CI runs this class on the AVX2, Vector128-only and scalar-only paths, so the bitwise tests prove the three paths
/// give the same results. Every H from 1 to 257 for an RNN, GRU and LSTM gate count, odd and even input sizes, inputs and
/// outputs at unaligned offsets.
/// </summary>
public class PanelFormatTests
{
    private const double U = KernelTestData.Eps;

    public enum Format
    {
        BFloat16,
        Int8,
    }

    public static TheoryData<Format, int> FormatsAndGates
    {
        get
        {
            var data = new TheoryData<Format, int>();
            foreach (Format format in new[] { Format.BFloat16, Format.Int8 })
            {
                foreach (int gates in new[] { 1, 3, 4 })
                    data.Add(format, gates);
            }
            return data;
        }
    }

    public static TheoryData<Format> Formats => [Format.BFloat16, Format.Int8];

    private static PanelWeights Create(Format format, int gates, int hidden, int cols) =>
        format == Format.BFloat16 ? new BFloat16PanelWeights(gates, hidden, cols) : new Int8PanelWeights(gates, hidden, cols);

    private static float MultiplyAddLikeTheLibrary(float a, float b, float c) =>
        Fma.IsSupported || AdvSimd.Arm64.IsSupported ? MathF.FusedMultiplyAdd(a, b, c) : (a * b) + c;

    // Input sizes cycled through the H sweep: odd and even, below and above a pair, a quarter split, a vector.
    private static readonly int[] Columns = [1, 2, 3, 7, 8, 9, 16, 17, 33, 64, 65];

    [Theory]
    [MemberData(nameof(FormatsAndGates))]
    public void Product_EveryHiddenSize_MatchesTheDoubleSumAndTheDocumentedFormula(Format format, int gates)
    {
        var random = new Random(1000 * gates + (int)format);
        for (int hidden = 1; hidden <= 257; hidden++)
        {
            int colsA = Columns[hidden % Columns.Length], colsB = Columns[(hidden * 7 + 3) % Columns.Length];
            int rows = gates * hidden;
            float[] wa = KernelTestData.Uniform(random, rows * colsA, -0.5, 0.5), wb = KernelTestData.Uniform(random, rows * colsB, -0.5, 0.5);
            PanelWeights a = Create(format, gates, hidden, colsA), b = Create(format, gates, hidden, colsB);
            a.Pack(wa);
            b.Pack(wb);
            // Inputs and y at unaligned offsets inside larger arrays.
            int offset = hidden % 8;
            float[] xaArray = KernelTestData.Uniform(random, colsA + offset, -2, 2), xbArray = KernelTestData.Uniform(random, colsB + offset, -1, 1);
            float[] yArray = KernelTestData.Uniform(random, rows + 2 * offset + 1, -1, 1);
            ReadOnlySpan<float> xa = xaArray.AsSpan(offset, colsA), xb = xbArray.AsSpan(offset, colsB);
            Span<float> y = yArray.AsSpan(offset + 1, rows);
            float[] y0 = y.ToArray();
            short[] qa = new short[a.PreparedLength + 3], qb = new short[b.PreparedLength + 1];
            var inputA = new PanelInput(xa, qa.AsSpan(0, a.PreparedLength), a.Prepare(xa, qa));
            var inputB = new PanelInput(xb, qb.AsSpan(0, b.PreparedLength), b.Prepare(xb, qb));
            float[] before = yArray.ToArray();
            SimdLstm.Kernels.PanelGemvBlocks(a, inputA, b, inputB, y, 0, a.Blocks);

            // Nothing outside y is touched.
            for (int i = 0; i < offset + 1; i++)
                Assert.Equal(before[i], yArray[i]);
            for (int i = offset + 1 + rows; i < yArray.Length; i++)
                Assert.Equal(before[i], yArray[i]);

            float[] ea = new float[wa.Length], eb = new float[wb.Length];
            a.Dequantize(ea);
            b.Dequantize(eb);
            float[] expected = format == Format.BFloat16
                ? DocumentedBFloat16(ea, colsA, xa, eb, colsB, xb, y0)
                : DocumentedInt8((Int8PanelWeights)a, xa, inputA.Scale, qa, (Int8PanelWeights)b, xb, inputB.Scale, qb, y0);
            for (int r = 0; r < rows; r++)
            {
                double exact = y0[r], magnitude = Math.Abs(y0[r]), quantisation = 0;
                for (int k = 0; k < colsA; k++)
                {
                    exact += (double)ea[r * colsA + k] * xa[k];
                    magnitude += Math.Abs((double)ea[r * colsA + k] * xa[k]);
                }
                for (int k = 0; k < colsB; k++)
                {
                    exact += (double)eb[r * colsB + k] * xb[k];
                    magnitude += Math.Abs((double)eb[r * colsB + k] * xb[k]);
                }
                double bound;
                if (format == Format.BFloat16)
                {
                    // A sequential float sum of n = colsA + colsB terms starting from y0 (Higham, 2nd ed., §3.1), each
                    // product rounded once more when not fused: (n + 2)·u·(|y0| + Σ|terms|).
                    bound = (colsA + colsB + 2) * U * magnitude;
                }
                else
                {
                    // Int8: the product uses σ·x_q instead of x, |σ·x_q[k] − x[k]| ≤ σ·(1/2 + u·Q) + 3u·|x[k]| (the
                    // class's remarks), so Σ_k |w_eff[r, k]|·that; then the exact integer sum is converted (u), multiplied
                    // by fl(s_r·σ) (2u) and added (u), each product's terms at most (1 + …)·Σ|terms|: 5u·(|y0| + Σ|terms| +
                    // the quantisation term).
                    quantisation = QuantisationBound(ea, colsA, r, xa, inputA.Scale, ((Int8PanelWeights)a).InputRange)
                        + QuantisationBound(eb, colsB, r, xb, inputB.Scale, ((Int8PanelWeights)b).InputRange);
                    bound = quantisation + 5 * U * (magnitude + quantisation) * 2;
                }
                Assert.True(Math.Abs(y[r] - exact) <= bound,
                    $"{format} G={gates} H={hidden} K={colsA}+{colsB} row {r}: {y[r]} vs exact {exact}, bound {bound}");
                Assert.True(BitConverter.SingleToInt32Bits(expected[r]) == BitConverter.SingleToInt32Bits(y[r]),
                    $"{format} G={gates} H={hidden} K={colsA}+{colsB} row {r}: {y[r]} is not the documented formula's {expected[r]}");
            }
        }
    }

    private static double QuantisationBound(float[] w, int cols, int row, ReadOnlySpan<float> x, float sigma, int range)
    {
        double sum = 0;
        for (int k = 0; k < cols; k++)
            sum += Math.Abs((double)w[row * cols + k]) * (sigma * (0.5 + U * range) + 3 * U * Math.Abs(x[k]));
        return sum;
    }

    // bfloat16: per row, y0 then A's columns then B's, each matrix's pairs in the documented order (four interleaved
    // quarters of the full pairs, the remaining full pairs, then an odd last column), one multiply-add per term.
    private static float[] DocumentedBFloat16(float[] ea, int colsA, ReadOnlySpan<float> xa, float[] eb, int colsB, ReadOnlySpan<float> xb, float[] y0)
    {
        var y = (float[])y0.Clone();
        for (int r = 0; r < y.Length; r++)
        {
            float acc = y[r];
            acc = BFloat16Row(ea.AsSpan(r * colsA, colsA), xa, acc);
            acc = BFloat16Row(eb.AsSpan(r * colsB, colsB), xb, acc);
            y[r] = acc;
        }
        return y;
    }

    private static float BFloat16Row(ReadOnlySpan<float> w, ReadOnlySpan<float> x, float acc)
    {
        int full = w.Length / 2, quarter = full / 4;
        var order = new List<int>();
        for (int k = 0; k < quarter; k++)
        {
            for (int stream = 0; stream < 4; stream++)
                order.Add(stream * quarter + k);
        }
        for (int p = 4 * quarter; p < full; p++)
            order.Add(p);
        foreach (int p in order)
        {
            acc = MultiplyAddLikeTheLibrary(x[2 * p], w[2 * p], acc);
            acc = MultiplyAddLikeTheLibrary(x[2 * p + 1], w[2 * p + 1], acc);
        }
        if (w.Length % 2 == 1)
            acc = MultiplyAddLikeTheLibrary(x[^1], w[^1], acc);
        return acc;
    }

    // int8: y0 + fl(float(Σ q·x_q)·fl(s_r·σ)) for A, then the same for B, with the sums taken exactly here (in long).
    private static float[] DocumentedInt8(Int8PanelWeights a, ReadOnlySpan<float> xa, float sa, short[] qa, Int8PanelWeights b, ReadOnlySpan<float> xb, float sb, short[] qb, float[] y0)
    {
        var y = (float[])y0.Clone();
        for (int r = 0; r < y.Length; r++)
        {
            long sumA = 0, sumB = 0;
            for (int k = 0; k < a.Cols; k++)
                sumA += a.Level(r, k) * qa[k];
            for (int k = 0; k < b.Cols; k++)
                sumB += b.Level(r, k) * qb[k];
            Assert.InRange(sumA, int.MinValue, int.MaxValue);
            Assert.InRange(sumB, int.MinValue, int.MaxValue);
            float acc = MultiplyAddLikeTheLibrary((float)sumA, a.RowScale(r) * sa, y[r]);
            y[r] = MultiplyAddLikeTheLibrary((float)sumB, b.RowScale(r) * sb, acc);
        }
        return y;
    }

    [Theory]
    [MemberData(nameof(FormatsAndGates))]
    public void Pack_StoresEachWeightAsTheFormatDocuments(Format format, int gates)
    {
        var random = new Random(7 + gates);
        foreach (int hidden in new[] { 1, 5, 21, 22, 64, 65, 130 })
        {
            foreach (int cols in new[] { 1, 4, 11 })
            {
                float[] w = KernelTestData.Uniform(random, gates * hidden * cols, -3, 3);
                // A row of zeros and a row with one tiny weight: s_r = 0 and a subnormal-free small scale.
                w.AsSpan(0, cols).Clear();
                if (gates * hidden > 1)
                    w[cols] = 1e-20f;
                PanelWeights packed = Create(format, gates, hidden, cols);
                packed.Pack(w);
                float[] effective = new float[w.Length];
                packed.Dequantize(effective);
                for (int row = 0; row < gates * hidden; row++)
                {
                    ReadOnlySpan<float> source = w.AsSpan(row * cols, cols);
                    double largest = source.ToArray().Max(v => Math.Abs((double)v));
                    for (int k = 0; k < cols; k++)
                    {
                        float value = source[k], stored = effective[row * cols + k];
                        if (format == Format.BFloat16)
                        {
                            // The nearest bfloat16: 8 significant bits (7 stored), so within 2⁻⁸ relative, and exactly representable.
                            Assert.True(Math.Abs(stored - value) <= Math.Abs(value) / 256.0, $"bf16 {value} stored as {stored}");
                            Assert.Equal(0u, BitConverter.SingleToUInt32Bits(stored) & 0xFFFFu);
                        }
                        else
                        {
                            var int8 = (Int8PanelWeights)packed;
                            double scale = int8.RowScale(row);
                            Assert.Equal((float)(largest / 127), (float)scale, 0f);
                            int level = int8.Level(row, k);
                            Assert.InRange(level, -127, 127);
                            // The nearest level (w/s within half a step), and s·q as stored (one float product).
                            Assert.True(Math.Abs(level * scale - value) <= scale / 2 * (1 + 1e-6) + 1e-45, $"int8 {value}: level {level}, scale {scale}");
                            Assert.Equal((float)scale * level, stored);
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void BFloat16_RoundsToNearestEven_AndKeepsSpecialValues()
    {
        // 1 + 2⁻⁸ is halfway between 1 and 1 + 2⁻⁷: ties go to the even mantissa (1); 1 + 3·2⁻⁸ goes up to 1 + 2⁻⁶.
        Assert.Equal(1f, BFloat16PanelWeights.FromBFloat16(BFloat16PanelWeights.ToBFloat16(1f + 1f / 256)));
        Assert.Equal(1f + 1f / 64, BFloat16PanelWeights.FromBFloat16(BFloat16PanelWeights.ToBFloat16(1f + 3f / 256)));
        Assert.Equal(1f + 1f / 128, BFloat16PanelWeights.FromBFloat16(BFloat16PanelWeights.ToBFloat16(1f + 1f / 128 + 1f / 1024)));
        Assert.True(float.IsNaN(BFloat16PanelWeights.FromBFloat16(BFloat16PanelWeights.ToBFloat16(float.NaN))));
        Assert.Equal(float.PositiveInfinity, BFloat16PanelWeights.FromBFloat16(BFloat16PanelWeights.ToBFloat16(float.PositiveInfinity)));
        Assert.Equal(-0f, BFloat16PanelWeights.FromBFloat16(BFloat16PanelWeights.ToBFloat16(-0f)));
        // The largest float rounds to infinity in bfloat16 (above its largest finite value, 0x7F7F).
        Assert.Equal(float.PositiveInfinity, BFloat16PanelWeights.FromBFloat16(BFloat16PanelWeights.ToBFloat16(float.MaxValue)));
    }

    [Fact]
    public void Int8_Prepare_QuantisesByTheDocumentedRule_EveryLength()
    {
        var random = new Random(5);
        for (int cols = 0; cols <= 257; cols++)
        {
            var panels = new Int8PanelWeights(1, 3, cols);
            panels.Pack(KernelTestData.Uniform(random, 3 * cols, -1, 1));
            int range = panels.InputRange;
            float[] x = KernelTestData.Uniform(random, cols + 5, -4, 4);
            int offset = cols % 5;
            ReadOnlySpan<float> input = x.AsSpan(offset, cols);
            short[] q = Enumerable.Repeat((short)12345, panels.PreparedLength + 2).ToArray();
            float sigma = panels.Prepare(input, q);
            if (cols == 0)
            {
                Assert.Equal(0f, sigma);
                continue;
            }
            float largest = input.ToArray().Max(MathF.Abs), inverse = range / largest;
            Assert.Equal(largest / range, sigma);
            for (int k = 0; k < cols; k++)
                Assert.Equal((short)Math.Clamp((int)MathF.Round(input[k] * inverse, MidpointRounding.ToEven), -range, range), q[k]);
            if (cols % 2 == 1)
                Assert.Equal(0, q[cols]); // the pad of an odd length multiplies a zero weight, and is zero itself
            Assert.Equal((short)12345, q[panels.PreparedLength]); // nothing past the prepared length
        }
    }

    [Fact]
    public void Int8_InputRange_KeepsEveryInt32SumInRange_EvenWithExtremeWeights()
    {
        // Every weight at ±the row's largest (all levels ±127) and K = 4099: Σ|q| = 127·4099, so Q = ⌊(2³¹ − 1)/520573⌋.
        const int cols = 4099;
        var random = new Random(3);
        float[] w = new float[4 * cols];
        for (int i = 0; i < w.Length; i++)
            w[i] = random.Next(2) == 0 ? -0.25f : 0.25f;
        var panels = new Int8PanelWeights(4, 1, cols);
        panels.Pack(w);
        Assert.Equal(int.MaxValue / (127 * cols), panels.InputRange);
        // x with |x| = its maximum everywhere, signs matching row 0: the largest possible sum.
        float[] x = new float[cols];
        for (int k = 0; k < cols; k++)
            x[k] = w[k] > 0 ? 3f : -3f;
        short[] q = new short[panels.PreparedLength];
        float sigma = panels.Prepare(x, q);
        float[] y = new float[4];
        SimdLstm.Kernels.PanelGemvBlocks(panels, new PanelInput(x, q, sigma), null, default, y, 0, panels.Blocks);
        // Row 0 is exactly Σ 0.25·3 = 0.75·K (up to the scale's rounding); a wrapped int32 sum would be negative.
        Assert.True(Math.Abs(y[0] - 0.75 * cols) <= 1e-4 * 0.75 * cols, $"row 0: {y[0]}, expected {0.75 * cols}");
    }

    [Fact]
    public void Int8_NonFiniteInput_MakesEveryRowNaN_AndZeroInputAddsNothing()
    {
        var panels = new Int8PanelWeights(4, 9, 5);
        panels.Pack(KernelTestData.Uniform(new Random(2), 4 * 9 * 5, -1, 1));
        short[] q = new short[panels.PreparedLength];
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            float[] x = [0.5f, bad, -1f, 0f, 2f];
            float[] y = new float[36];
            float sigma = panels.Prepare(x, q);
            SimdLstm.Kernels.PanelGemvBlocks(panels, new PanelInput(x, q, sigma), null, default, y, 0, panels.Blocks);
            Assert.All(y, v => Assert.True(float.IsNaN(v)));
        }
        float[] zeros = new float[5], z = Enumerable.Range(0, 36).Select(i => i * 0.5f).ToArray(), z0 = (float[])z.Clone();
        float s = panels.Prepare(zeros, q);
        SimdLstm.Kernels.PanelGemvBlocks(panels, new PanelInput(zeros, q, s), null, default, z, 0, panels.Blocks);
        Assert.Equal(z0, z);
        // Tiny inputs (Q / m overflows float) still quantise, in double, to the full range.
        float[] tiny = [1e-40f, -5e-41f, 0f, 1e-40f, 2e-41f];
        float st = panels.Prepare(tiny, q);
        Assert.True(st > 0f);
        Assert.Equal(panels.InputRange, q[0]);
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void AddColumn_AddsTheEffectiveWeightsOfOneColumn(Format format)
    {
        var random = new Random(11);
        foreach (int gates in new[] { 1, 3, 4 })
        {
            foreach ((int hidden, int cols) in new[] { (1, 1), (21, 6), (45, 7), (130, 3) })
            {
                PanelWeights panels = Create(format, gates, hidden, cols);
                float[] w = KernelTestData.Uniform(random, gates * hidden * cols, -1, 1), effective = new float[w.Length];
                panels.Pack(w);
                panels.Dequantize(effective);
                for (int column = 0; column < cols; column++)
                {
                    float[] y = KernelTestData.Uniform(random, gates * hidden, -1, 1), y0 = (float[])y.Clone();
                    panels.AddColumn(column, y);
                    for (int r = 0; r < y.Length; r++)
                        Assert.Equal(y0[r] + effective[r * cols + column], y[r]);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void Blocks_SplitAnywhere_GiveTheWholeProductBitwise(Format format)
    {
        var random = new Random(13);
        PanelWeights a = Create(format, 4, 77, 19), b = Create(format, 4, 77, 77);
        a.Pack(KernelTestData.Uniform(random, 4 * 77 * 19, -1, 1));
        b.Pack(KernelTestData.Uniform(random, 4 * 77 * 77, -1, 1));
        float[] xa = KernelTestData.Uniform(random, 19, -1, 1), xb = KernelTestData.Uniform(random, 77, -1, 1);
        short[] qa = new short[a.PreparedLength], qb = new short[b.PreparedLength];
        float sa = a.Prepare(xa, qa), sb = b.Prepare(xb, qb);
        float[] y0 = KernelTestData.Uniform(random, 4 * 77, -1, 1), whole = (float[])y0.Clone();
        SimdLstm.Kernels.PanelGemvBlocks(a, new PanelInput(xa, qa, sa), b, new PanelInput(xb, qb, sb), whole, 0, a.Blocks);
        for (int cut = 0; cut <= a.Blocks; cut++)
        {
            float[] split = (float[])y0.Clone();
            SimdLstm.Kernels.PanelGemvBlocks(a, new PanelInput(xa, qa, sa), b, new PanelInput(xb, qb, sb), split, cut, a.Blocks);
            SimdLstm.Kernels.PanelGemvBlocks(a, new PanelInput(xa, qa, sa), b, new PanelInput(xb, qb, sb), split, 0, cut);
            Assert.Equal(whole, split);
        }
    }
}
