using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace SimdLstm.Benchmarks;

/// <summary>Which weights a bandwidth case reads.</summary>
public enum WeightSet
{
    /// <summary>W_ih and W_hh, G·H·(I + H) floats: what a batch-1 streaming step must stream once.</summary>
    All = 0,

    /// <summary>W_hh alone, G·H·H floats: what each step of a sequence must stream (W_ih is applied to all steps at once).</summary>
    Recurrent = 1,
}

/// <summary>
/// The memory side of the hardware limit: read bandwidth over a buffer the size of a case's weights, so each size is
/// measured at the cache level its weights actually live in (L2 up to 1 MiB, then L3, then memory on this machine).
/// The mean time is the floor for streaming those weights once.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Limit")]
public class BandwidthBench
{
    private float[] _buffer = [];

    /// <summary>I = H of the case whose weights the buffer stands for.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run (see <see cref="BenchCases.Sizes"/>).</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>The cell whose weights the buffer stands for.</summary>
    [Params(CellKind.Lstm, CellKind.Gru, CellKind.Rnn)]
    public CellKind Cell { get; set; }

    /// <summary>All weights or only the recurrent ones.</summary>
    [Params(WeightSet.All, WeightSet.Recurrent)]
    public WeightSet Weights { get; set; }

    /// <summary>Bytes the benchmark reads per operation.</summary>
    public static long Bytes(CellKind cell, int size, WeightSet weights) =>
        4 * (weights == WeightSet.All ? BenchCases.WeightCount(cell, size) : BenchCases.RecurrentWeightCount(cell, size));

    /// <summary>Fills the buffer (so its pages are mapped and it holds ordinary values).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _buffer = new float[Bytes(Cell, Size, Weights) / sizeof(float)];
        for (int i = 0; i < _buffer.Length; i++)
            _buffer[i] = (i % 7) * 0.125f;
    }

    /// <summary>Sums the buffer: every byte is read once.</summary>
    [Benchmark]
    public float ReadWeights() => Sum(_buffer);

    // Eight independent Vector256 accumulators: an add has 3 cycles of latency and two issue per cycle on Zen 4, so six or
    // more are needed to keep two 32-byte loads per cycle flowing; the loop is unrolled by hand because the JIT does not.
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static float Sum(ReadOnlySpan<float> values)
    {
        ref float r = ref MemoryMarshal.GetReference(values);
        nuint length = (nuint)values.Length, i = 0;
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        nuint width = (nuint)Vector256<float>.Count;
        for (; i + 8 * width <= length; i += 8 * width)
        {
            a0 += Vector256.LoadUnsafe(ref r, i);
            a1 += Vector256.LoadUnsafe(ref r, i + width);
            a2 += Vector256.LoadUnsafe(ref r, i + 2 * width);
            a3 += Vector256.LoadUnsafe(ref r, i + 3 * width);
            a4 += Vector256.LoadUnsafe(ref r, i + 4 * width);
            a5 += Vector256.LoadUnsafe(ref r, i + 5 * width);
            a6 += Vector256.LoadUnsafe(ref r, i + 6 * width);
            a7 += Vector256.LoadUnsafe(ref r, i + 7 * width);
        }
        float sum = Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)));
        for (; i < length; i++)
            sum += Unsafe.Add(ref r, i);
        return sum;
    }
}

/// <summary>
/// The memory side of the limit of the precision cases (<see cref="PrecisionBench"/>): the same read as
/// <see cref="BandwidthBench"/> over a buffer of exactly <see cref="PackedRecurrentLayer.WeightBytes"/> bytes of the packed
/// copy at that cell, size and precision, so each case's floor is measured at the cache level its packed weights live in
/// (a bf16 or int8 copy can fit a level its fp32 copy does not). The fp32 buffer is the size of
/// <see cref="BandwidthBench"/>'s <c>All</c> buffer of the same cell and size.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("PrecisionLimit")]
public class PackedReadBench
{
    private float[] _buffer = [];

    /// <summary>I = H of the case whose packed weights the buffer stands for.</summary>
    [ParamsSource(nameof(Sizes))]
    public int Size { get; set; }

    /// <summary>The sizes to run (see <see cref="BenchCases.Sizes"/>).</summary>
    public static IEnumerable<int> Sizes() => BenchCases.Sizes();

    /// <summary>The cell whose packed weights the buffer stands for.</summary>
    [Params(CellKind.Lstm, CellKind.Gru)]
    public CellKind Cell { get; set; }

    /// <summary>The precision of those weights.</summary>
    [Params(PackedPrecision.Float32, PackedPrecision.BFloat16, PackedPrecision.Int8)]
    public PackedPrecision Precision { get; set; }

    /// <summary>Bytes read per operation: the packed copy's weight bytes, rounded up to whole floats.</summary>
    public static long Bytes(CellKind cell, int size, PackedPrecision precision) =>
        (PrecisionBench.WeightBytes(cell, size, precision) + sizeof(float) - 1) / sizeof(float) * sizeof(float);

    /// <summary>Fills the buffer (so its pages are mapped and it holds ordinary values).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _buffer = new float[Bytes(Cell, Size, Precision) / sizeof(float)];
        for (int i = 0; i < _buffer.Length; i++)
            _buffer[i] = (i % 7) * 0.125f;
    }

    /// <summary>Sums the buffer: every byte is read once.</summary>
    [Benchmark]
    public float ReadWeights() => BandwidthBench.Sum(_buffer);
}

/// <summary>
/// The compute side of the hardware limit: a register-resident loop of Vector256 fused multiply-adds on one core.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Limit")]
public class FmaPeakBench
{
    /// <summary>Loop trips per operation.</summary>
    public const int Iterations = 1 << 20;

    /// <summary>
    /// FLOPs per operation: 12 accumulators × 8 lanes × 2 (a multiply and an add) per trip.
    /// </summary>
    public const double Flops = 12.0 * 8 * 2 * Iterations;

    private float _scale = 0.999f;
    private float _offset = 1e-3f;

    /// <summary>The multiplier and addend live in fields so the JIT cannot fold the loop away.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _scale = 0.999f;
        _offset = 1e-3f;
    }

    /// <summary>Runs <see cref="Iterations"/> trips of 12 independent FMAs.</summary>
    [Benchmark]
    public float Fma() => FmaLoop(_scale, _offset, Iterations);

    // Twelve accumulators cover the FMA latency (4 cycles) times the two FMA pipes of Zen 4 with room to spare, and with the
    // two operands use 14 of the 16 ymm registers an AVX2 machine has. Each accumulator converges to offset / (1 − scale),
    // so the values stay finite and normal. A static method, because accumulators in local functions spill.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float FmaLoop(float scale, float offset, int iterations)
    {
        Vector256<float> x = Vector256.Create(scale), y = Vector256.Create(offset);
        Vector256<float> a0 = Vector256.Create(0.1f), a1 = Vector256.Create(0.2f), a2 = Vector256.Create(0.3f);
        Vector256<float> a3 = Vector256.Create(0.4f), a4 = Vector256.Create(0.5f), a5 = Vector256.Create(0.6f);
        Vector256<float> a6 = Vector256.Create(0.7f), a7 = Vector256.Create(0.8f), a8 = Vector256.Create(0.9f);
        Vector256<float> a9 = Vector256.Create(1.0f), a10 = Vector256.Create(1.1f), a11 = Vector256.Create(1.2f);
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, x, y);
            a1 = Vector256.FusedMultiplyAdd(a1, x, y);
            a2 = Vector256.FusedMultiplyAdd(a2, x, y);
            a3 = Vector256.FusedMultiplyAdd(a3, x, y);
            a4 = Vector256.FusedMultiplyAdd(a4, x, y);
            a5 = Vector256.FusedMultiplyAdd(a5, x, y);
            a6 = Vector256.FusedMultiplyAdd(a6, x, y);
            a7 = Vector256.FusedMultiplyAdd(a7, x, y);
            a8 = Vector256.FusedMultiplyAdd(a8, x, y);
            a9 = Vector256.FusedMultiplyAdd(a9, x, y);
            a10 = Vector256.FusedMultiplyAdd(a10, x, y);
            a11 = Vector256.FusedMultiplyAdd(a11, x, y);
        }
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
    }
}
