using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace SimdLstm.Benchmarks;

/// <summary>One GEMM problem: C[m, n] = op(A)[m, k]·op(B)[k, n], named by its role in an LSTM layer.</summary>
public sealed record GemmShape(string Name, Transpose TransA, Transpose TransB, int M, int N, int K)
{
    public double Flops => 2.0 * M * N * K;

    public override string ToString() => Name;
}

/// <summary>
/// <see cref="Kernels.Gemm"/> on a square 512 problem and on the GEMMs of an LSTM layer with H = I = 256,
/// T·B = 1600 rows (4H = 1024): the input projection X·W_ihᵀ (NT 1600x1024x256), the input gradient
/// dGates·W (NN 1600x256x1024), the weight gradient dGatesᵀ·X (TN 1024x256x1600) and the recurrent
/// step at batch 32, H·W_hhᵀ (NT 32x1024x256). The GFLOP/s column is 2·m·n·k over the mean time; %Peak relates it to
/// the 113 GFLOP/s single-core FMA peak of the reference machine.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GemmBenchConfig))]
public class GemmBench
{
    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];

    public static IEnumerable<GemmShape> Shapes =>
    [
        new("NN 512x512x512", Transpose.None, Transpose.None, 512, 512, 512),
        new("NT 1600x1024x256", Transpose.None, Transpose.Transposed, 1600, 1024, 256),
        new("NN 1600x256x1024", Transpose.None, Transpose.None, 1600, 256, 1024),
        new("TN 1024x256x1600", Transpose.Transposed, Transpose.None, 1024, 256, 1600),
        new("NT 32x1024x256", Transpose.None, Transpose.Transposed, 32, 1024, 256),
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    [GlobalSetup]
    public void Setup() => (_a, _b, _c) = GemmBenchData.Create(Shape.M, Shape.N, Shape.K);

    [Benchmark]
    public void KernelsGemm()
    {
        GemmShape s = Shape;
        int lda = s.TransA == Transpose.None ? s.K : s.M;
        int ldb = s.TransB == Transpose.None ? s.N : s.K;
        Kernels.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, _a, lda, _b, ldb, 0f, _c, s.N);
    }

    internal static double Flops(BenchmarkCase benchmarkCase) => ((GemmShape)benchmarkCase.Parameters["Shape"]).Flops;

    private sealed class GemmBenchConfig : ManualConfig
    {
        public GemmBenchConfig()
        {
            AddColumn(new GemmThroughputColumn("GFLOP/s", "2·m·n·k divided by the mean time", Flops));
            AddColumn(new GemmThroughputColumn("%Peak", "GFLOP/s as a percentage of 113 GFLOP/s", c => Flops(c) * 100 / GemmThroughputColumn.PeakGflops));
        }
    }
}

/// <summary>
/// Square 512 against the plain alternatives: a scalar i-k-j loop (NN), and TensorPrimitives' nearest
/// equivalent, one vectorised dot product per element of C (NT, where both operands are read along k).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GemmBaselineBenchConfig))]
public class GemmBaselineBench
{
    private const int Size = 512;
    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];

    [GlobalSetup]
    public void Setup() => (_a, _b, _c) = GemmBenchData.Create(Size, Size, Size);

    [Benchmark(Baseline = true)]
    public void KernelsGemmNN() => Kernels.Gemm(Transpose.None, Transpose.None, Size, Size, Size, 1f, _a, Size, _b, Size, 0f, _c, Size);

    [Benchmark]
    public void KernelsGemmNT() => Kernels.Gemm(Transpose.None, Transpose.Transposed, Size, Size, Size, 1f, _a, Size, _b, Size, 0f, _c, Size);

    [Benchmark]
    public void ScalarLoopNN()
    {
        float[] a = _a, b = _b, c = _c;
        Array.Clear(c);
        for (int i = 0; i < Size; i++)
        {
            for (int p = 0; p < Size; p++)
            {
                float aip = a[(i * Size) + p];
                int bRow = p * Size, cRow = i * Size;
                for (int j = 0; j < Size; j++)
                    c[cRow + j] += aip * b[bRow + j];
            }
        }
    }

    [Benchmark]
    public void TensorPrimitivesDotNT()
    {
        ReadOnlySpan<float> a = _a, b = _b;
        Span<float> c = _c;
        for (int i = 0; i < Size; i++)
        {
            ReadOnlySpan<float> aRow = a.Slice(i * Size, Size);
            for (int j = 0; j < Size; j++)
                c[(i * Size) + j] = TensorPrimitives.Dot(aRow, b.Slice(j * Size, Size));
        }
    }

    private sealed class GemmBaselineBenchConfig : ManualConfig
    {
        public GemmBaselineBenchConfig()
        {
            const double flops = 2.0 * Size * Size * Size;
            AddColumn(new GemmThroughputColumn("GFLOP/s", "2·m·n·k divided by the mean time", _ => flops));
            AddColumn(new GemmThroughputColumn("%Peak", "GFLOP/s as a percentage of 113 GFLOP/s", _ => flops * 100 / GemmThroughputColumn.PeakGflops));
        }
    }
}

internal static class GemmBenchData
{
    /// <summary>A [m, k] (or [k, m]), B [k, n] (or [n, k]) and C [m, n], filled with values in [-1, 1).</summary>
    public static (float[] A, float[] B, float[] C) Create(int m, int n, int k)
    {
        var random = new Random(2);
        float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
        foreach (float[] x in new[] { a, b, c })
        {
            for (int i = 0; i < x.Length; i++)
                x[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return (a, b, c);
    }
}
