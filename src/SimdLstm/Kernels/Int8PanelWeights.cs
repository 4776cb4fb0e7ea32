using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SimdLstm;

/// <summary>
/// Gate panels in int8 with one float32 scale per output row (symmetric, zero point 0): 1 byte a weight. Each product
/// quantises its input to int16 and sums exactly in int32, then scales once per row.
/// </summary>
/// <remarks>
/// <para><b>Weights.</b> Row r is stored as q[r, k] = round(W[r, k] / s_r) with s_r = max_k |W[r, k]| / 127, so
/// q ∈ [−127, 127]; the weight a product uses is s_r·q[r, k] (<see cref="PanelWeights.Dequantize"/>), within s_r / 2 of
/// W[r, k]. A row of zeros gets s_r = 0.</para>
/// <para><b>Input.</b> <see cref="Prepare"/> quantises x per product: m = max_k |x[k]|, x_q[k] = round(x[k]·Q/m) (ties to
/// even) with scale σ = m/Q, so |σ·x_q[k] − x[k]| ≤ σ·(1/2 + 2⁻²⁴·Q) + 3·2⁻²⁴·|x[k]|. Q is 32767 unless
/// the matrix's largest row sum Σ_k |q[r, k]| times Q could pass 2³¹ − 1, then Q = ⌊(2³¹ − 1) / that sum⌋ (so Q ≥ 16512
/// up to K = 1024 with every weight at the extreme, and in practice twice that): the int32 sums never overflow. With
/// 15 bits for the input the error is the weights' (1/254 of a row's largest weight), not the activations'. A non-finite
/// x makes every row of the product NaN; m = 0 adds zeros.</para>
/// <para><b>Sum.</b> tile[r] + fl(fl(Σ_k q[r, k]·x_q[k])·fl(s_r·σ)), the integer sum exact (pairs of int16 products
/// summed in int32 with <c>pmaddwd</c>), its conversion to float rounded once, one multiply-add (fused where the
/// processor has FMA). The integer sum does not depend on the order it is taken in, so every path (AVX-512, AVX2, SSE4.1, scalar)
/// gives bitwise the same result.</para>
/// <para><b>Layout.</b> As <see cref="BFloat16PanelWeights"/>: columns in pairs, pair p of block j 128 bytes, panel row r's
/// two at 2·r (column 2p) and 2·r + 1 (column 2p + 1): widened to int16, 16 bytes are 8 rows' pairs, one
/// <c>pmaddwd</c> with the broadcast pair of x_q. The scales follow the blocks, 64 per block in panel-row order.</para>
/// </remarks>
internal sealed class Int8PanelWeights : PanelWeights
{
    private const int PanelRows = Kernels.PanelRows;
    private const int PairBytes = 2 * PanelRows;
    private readonly sbyte[] _packed;
    private readonly float[] _scales;
    private int _inputRange = 1;

    public Int8PanelWeights(int gateCount, int hiddenSize, int cols)
        : base(gateCount, hiddenSize, cols)
    {
        long length = (long)Blocks * Pairs(cols) * PairBytes;
        _packed = length <= Array.MaxLength ? new sbyte[length]
            : throw new ArgumentOutOfRangeException(nameof(cols), $"A packed int8 matrix would need {length} bytes, more than one array holds.");
        _scales = new float[Blocks * PanelRows];
    }

    private static int Pairs(int cols) => (cols + 1) / 2;

    public override long Bytes => _packed.Length + (long)_scales.Length * sizeof(float);

    /// <summary>Q: the largest |x_q| of a quantised input (set by <see cref="Pack"/>).</summary>
    internal int InputRange => _inputRange;

    /// <summary>s_r of W's row <paramref name="row"/>.</summary>
    internal float RowScale(int row)
    {
        (int block, int panelRow) = Kernels.PanelRowOf(row, GateCount, HiddenSize);
        return _scales[block * PanelRows + panelRow];
    }

    /// <summary>q[row, k]: the stored level of W's element.</summary>
    internal sbyte Level(int row, int k)
    {
        (int block, int panelRow) = Kernels.PanelRowOf(row, GateCount, HiddenSize);
        return _packed[((long)block * Pairs(Cols) + k / 2) * PairBytes + 2 * panelRow + (k & 1)];
    }

    public override int PreparedLength => 2 * Pairs(Cols);

    public override void Pack(ReadOnlySpan<float> w)
    {
        Guard.Length(w.Length, GateCount * HiddenSize * Cols, nameof(w));
        int pairs = Pairs(Cols);
        long widest = 1;
        _packed.AsSpan().Clear();
        for (int j = 0; j < Blocks; j++)
        {
            Span<sbyte> block = _packed.AsSpan(j * pairs * PairBytes, pairs * PairBytes);
            for (int r = 0; r < PanelRows; r++)
            {
                int row = Kernels.RowOfPanel(j, r, GateCount, HiddenSize);
                if (row < 0)
                {
                    _scales[j * PanelRows + r] = 0f;
                    continue;
                }
                ReadOnlySpan<float> values = w.Slice(row * Cols, Cols);
                float largest = 0f;
                for (int k = 0; k < Cols; k++)
                    largest = MathF.Max(largest, MathF.Abs(values[k]));
                float scale = largest / 127f;
                _scales[j * PanelRows + r] = float.IsFinite(largest) ? scale : float.NaN;
                if (!(largest > 0f) || !float.IsFinite(largest))
                    continue;
                long sum = 0;
                for (int k = 0; k < Cols; k++)
                {
                    // The nearest level to w / s (in double, so the quotient is not rounded first), ties to even.
                    int q = (int)Math.Clamp(Math.Round(values[k] / (double)scale), -127, 127);
                    block[(k / 2) * PairBytes + 2 * r + (k & 1)] = (sbyte)q;
                    sum += Math.Abs(q);
                }
                widest = Math.Max(widest, sum);
            }
        }
        _inputRange = (int)Math.Min(32767, int.MaxValue / widest);
    }

    public override void Dequantize(Span<float> w)
    {
        Guard.Length(w.Length, GateCount * HiddenSize * Cols, nameof(w));
        int pairs = Pairs(Cols);
        for (int row = 0; row < GateCount * HiddenSize; row++)
        {
            (int block, int panelRow) = Kernels.PanelRowOf(row, GateCount, HiddenSize);
            float scale = _scales[block * PanelRows + panelRow];
            for (int k = 0; k < Cols; k++)
                w[row * Cols + k] = scale * _packed[((long)block * pairs + k / 2) * PairBytes + 2 * panelRow + (k & 1)];
        }
    }

    public override void AddColumn(int column, Span<float> y)
    {
        int pairs = Pairs(Cols), units = PanelRows / GateCount;
        for (int j = 0; j < Blocks; j++)
        {
            int valid = Math.Min(units, HiddenSize - j * units);
            ReadOnlySpan<sbyte> pair = _packed.AsSpan((j * pairs + column / 2) * PairBytes, PairBytes);
            for (int q = 0; q < GateCount; q++)
            {
                for (int u = 0; u < valid; u++)
                {
                    int r = q * units + u;
                    y[q * HiddenSize + j * units + u] += _scales[j * PanelRows + r] * pair[2 * r + (column & 1)];
                }
            }
        }
    }

    /// <summary>Quantises x [K] to int16 (see the remarks) into <paramref name="prepared"/> [2·⌈K/2⌉] and returns σ.</summary>
    public override float Prepare(ReadOnlySpan<float> x, Span<short> prepared)
    {
        int cols = Cols;
        Span<short> q = prepared[..PreparedLength];
        q.Clear();
        if (cols == 0)
            return 0f;
        float largest = MathF.Abs(TensorPrimitives.MaxMagnitude(x[..cols]));
        if (!float.IsFinite(largest))
            return float.NaN;
        if (largest == 0f)
            return 0f;
        int range = _inputRange;
        float inverse = range / largest;
        if (float.IsInfinity(inverse))
        {
            // m so small that Q / m overflows float (m below about 1e-34): quantise in double, the same on every path.
            for (int k = 0; k < cols; k++)
                q[k] = (short)Math.Clamp(Math.Round(x[k] * (double)range / largest), -range, range);
            return largest / range;
        }
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> scale = Vector256.Create(inverse);
            Vector256<int> high = Vector256.Create(range), low = Vector256.Create(-range);
            ref float xr = ref MemoryMarshal.GetReference(x);
            for (; i + 16 <= cols; i += 16)
            {
                Vector256<int> first = Vector256.Min(high, Vector256.Max(low, Vector256.ConvertToInt32(Vector256.Round(Vector256.LoadUnsafe(ref xr, (nuint)i) * scale))));
                Vector256<int> second = Vector256.Min(high, Vector256.Max(low, Vector256.ConvertToInt32(Vector256.Round(Vector256.LoadUnsafe(ref xr, (nuint)(i + 8)) * scale))));
                Vector256.Narrow(first, second).StoreUnsafe(ref MemoryMarshal.GetReference(q), (nuint)i);
            }
        }
        // The same operations one element at a time: a float product, rounding to the nearest integer (ties to even).
        for (; i < cols; i++)
            q[i] = (short)Math.Clamp((int)MathF.Round(x[i] * inverse), -range, range);
        return largest / range;
    }

    public override void AccumulateBlock(int block, PanelInput input, Span<float> tile)
    {
        int pairs = Pairs(Cols);
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_packed), (nint)block * pairs * PairBytes);
        ref int x = ref Unsafe.As<short, int>(ref MemoryMarshal.GetReference(input.Prepared));
        ref float scales = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_scales), block * PanelRows);
        ref float t = ref MemoryMarshal.GetReference(tile);
        float sigma = input.Scale;
        if (Avx512BW.IsSupported && Vector512.IsHardwareAccelerated)
        {
            Accumulate512(ref w, pairs, ref x, ref scales, sigma, ref t);
        }
        else if (Avx2.IsSupported)
        {
            Accumulate256(ref w, pairs, ref x, ref scales, sigma, ref t);
        }
        else if (Sse41.IsSupported)
        {
            Accumulate128(ref w, pairs, ref x, ref scales, sigma, ref t, 0);
            Accumulate128(ref w, pairs, ref x, ref scales, sigma, ref t, 1);
        }
        else
        {
            AccumulateScalar(ref w, pairs, ref x, ref scales, sigma, ref t);
        }
    }

    // w: the block's first pair; x: x_q as 32-bit words, pair p = (x_q[2p] low, x_q[2p + 1] high). Per 16 weights one
    // widening load, one pmaddwd and one add: pmaddwd's one multiply pipe is the limit, so the pairs are taken in order
    // (a walking pointer, no index arithmetic) and nothing else is asked of the loop.
    private static void Accumulate256(ref sbyte w, int pairs, ref int x, ref float scales, float sigma, ref float tile)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        ref sbyte pair = ref w;
        ref sbyte end = ref Unsafe.Add(ref w, (nint)pairs * PairBytes);
        while (Unsafe.IsAddressLessThan(ref pair, ref end))
        {
            Vector256<short> xv = Vector256.Create(x).AsInt16();
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pair, 0)), xv));
            a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pair, 16)), xv));
            a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pair, 32)), xv));
            a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pair, 48)), xv));
            a4 = Avx2.Add(a4, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pair, 64)), xv));
            a5 = Avx2.Add(a5, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pair, 80)), xv));
            a6 = Avx2.Add(a6, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pair, 96)), xv));
            a7 = Avx2.Add(a7, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pair, 112)), xv));
            pair = ref Unsafe.Add(ref pair, PairBytes);
            x = ref Unsafe.Add(ref x, 1);
        }
        Vector256<float> s = Vector256.Create(sigma);
        Scale256(a0, ref scales, s, ref tile, 0);
        Scale256(a1, ref scales, s, ref tile, 8);
        Scale256(a2, ref scales, s, ref tile, 16);
        Scale256(a3, ref scales, s, ref tile, 24);
        Scale256(a4, ref scales, s, ref tile, 32);
        Scale256(a5, ref scales, s, ref tile, 40);
        Scale256(a6, ref scales, s, ref tile, 48);
        Scale256(a7, ref scales, s, ref tile, 56);
    }

    // The AVX-512 form: 32 bytes (16 rows' pairs) a widening load, so half the instructions per weight. Two pairs a turn
    // into two sets of four accumulators (16 rows each), added at the end: integer sums, so exactly Accumulate256's.
    private static void Accumulate512(ref sbyte w, int pairs, ref int x, ref float scales, float sigma, ref float tile)
    {
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        ref sbyte pair = ref w;
        int p = 0;
        for (; p + 2 <= pairs; p += 2)
        {
            Vector512<short> xv = Vector512.Create(x).AsInt16();
            Vector512<short> yv = Vector512.Create(Unsafe.Add(ref x, 1)).AsInt16();
            a0 = Avx512F.Add(a0, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 0)), xv));
            a1 = Avx512F.Add(a1, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 32)), xv));
            a2 = Avx512F.Add(a2, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 64)), xv));
            a3 = Avx512F.Add(a3, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 96)), xv));
            b0 = Avx512F.Add(b0, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 128)), yv));
            b1 = Avx512F.Add(b1, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 160)), yv));
            b2 = Avx512F.Add(b2, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 192)), yv));
            b3 = Avx512F.Add(b3, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 224)), yv));
            pair = ref Unsafe.Add(ref pair, 2 * PairBytes);
            x = ref Unsafe.Add(ref x, 2);
        }
        if (p < pairs)
        {
            // An odd count of pairs: the last one.
            Vector512<short> xv = Vector512.Create(x).AsInt16();
            a0 = Avx512F.Add(a0, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 0)), xv));
            a1 = Avx512F.Add(a1, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 32)), xv));
            a2 = Avx512F.Add(a2, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 64)), xv));
            a3 = Avx512F.Add(a3, Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref pair, 96)), xv));
        }
        Vector512<float> s = Vector512.Create(sigma);
        Scale512(a0 + b0, ref scales, s, ref tile, 0);
        Scale512(a1 + b1, ref scales, s, ref tile, 16);
        Scale512(a2 + b2, ref scales, s, ref tile, 32);
        Scale512(a3 + b3, ref scales, s, ref tile, 48);
    }

    // AVX-512 implies FMA: the fused form MultiplyAdd uses on the other paths.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale512(Vector512<int> sum, ref float scales, Vector512<float> sigma, ref float tile, nuint at) =>
        Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum), Vector512.LoadUnsafe(ref scales, at) * sigma, Vector512.LoadUnsafe(ref tile, at)).StoreUnsafe(ref tile, at);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale256(Vector256<int> sum, ref float scales, Vector256<float> sigma, ref float tile, nuint at) =>
        MultiplyAdd.Invoke(Vector256.ConvertToSingle(sum), Vector256.LoadUnsafe(ref scales, at) * sigma, Vector256.LoadUnsafe(ref tile, at)).StoreUnsafe(ref tile, at);

    // Half a block (panel rows half·32 … half·32 + 31): eight accumulators of four rows, 8 bytes (4 rows' pairs) each.
    private static void Accumulate128(ref sbyte w, int pairs, ref int x, ref float scales, float sigma, ref float tile, int half)
    {
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        ref sbyte rows = ref Unsafe.Add(ref w, half * 64);
        for (int p = 0; p < pairs; p++)
        {
            ref byte pair = ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref rows, (nint)p * PairBytes));
            Vector128<short> xv = Vector128.Create(Unsafe.Add(ref x, p)).AsInt16();
            a0 = Sse2.Add(a0, Sse2.MultiplyAddAdjacent(Widen(ref pair, 0), xv));
            a1 = Sse2.Add(a1, Sse2.MultiplyAddAdjacent(Widen(ref pair, 8), xv));
            a2 = Sse2.Add(a2, Sse2.MultiplyAddAdjacent(Widen(ref pair, 16), xv));
            a3 = Sse2.Add(a3, Sse2.MultiplyAddAdjacent(Widen(ref pair, 24), xv));
            a4 = Sse2.Add(a4, Sse2.MultiplyAddAdjacent(Widen(ref pair, 32), xv));
            a5 = Sse2.Add(a5, Sse2.MultiplyAddAdjacent(Widen(ref pair, 40), xv));
            a6 = Sse2.Add(a6, Sse2.MultiplyAddAdjacent(Widen(ref pair, 48), xv));
            a7 = Sse2.Add(a7, Sse2.MultiplyAddAdjacent(Widen(ref pair, 56), xv));
        }
        Vector128<float> s = Vector128.Create(sigma);
        nuint at = (nuint)(half * 32);
        Scale128(a0, ref scales, s, ref tile, at);
        Scale128(a1, ref scales, s, ref tile, at + 4);
        Scale128(a2, ref scales, s, ref tile, at + 8);
        Scale128(a3, ref scales, s, ref tile, at + 12);
        Scale128(a4, ref scales, s, ref tile, at + 16);
        Scale128(a5, ref scales, s, ref tile, at + 20);
        Scale128(a6, ref scales, s, ref tile, at + 24);
        Scale128(a7, ref scales, s, ref tile, at + 28);
    }

    // 8 bytes at `offset` → 8 int16 (4 rows' pairs).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Widen(ref byte pair, int offset) =>
        Sse41.ConvertToVector128Int16(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref pair, offset))).AsSByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scale128(Vector128<int> sum, ref float scales, Vector128<float> sigma, ref float tile, nuint at) =>
        MultiplyAdd.Invoke(Vector128.ConvertToSingle(sum), Vector128.LoadUnsafe(ref scales, at) * sigma, Vector128.LoadUnsafe(ref tile, at)).StoreUnsafe(ref tile, at);

    private static void AccumulateScalar(ref sbyte w, int pairs, ref int x, ref float scales, float sigma, ref float tile)
    {
        ref short xq = ref Unsafe.As<int, short>(ref x);
        for (int r = 0; r < PanelRows; r++)
        {
            int sum = 0;
            for (int p = 0; p < pairs; p++)
            {
                ref sbyte pair = ref Unsafe.Add(ref w, (nint)p * PairBytes + 2 * r);
                sum += pair * Unsafe.Add(ref xq, 2 * p) + Unsafe.Add(ref pair, 1) * Unsafe.Add(ref xq, 2 * p + 1);
            }
            Unsafe.Add(ref tile, r) = MultiplyAdd.Invoke((float)sum, Unsafe.Add(ref scales, r) * sigma, Unsafe.Add(ref tile, r));
        }
    }
}
