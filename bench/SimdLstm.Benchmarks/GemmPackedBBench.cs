using System;
using System.Collections.Generic;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace SimdLstm.Benchmarks;

/// <summary>
/// The recurrent products of a training pass, H = 256, B = 32, one pass's 50 steps per operation: forward
/// gates += H·W_hhᵀ (NT 32x1024x256) and backward dh = dGates·W_hh (NN 32x256x1024). The baseline is
/// <see cref="Kernels.Gemm"/>, which packs W_hh again on every call; the other case packs it once per pass
/// (<c>Kernels.PackGemmB</c>, counted in the time) and runs the 50 products through <c>Kernels.GemmPackedB</c>,
/// as <see cref="RecurrentLayer"/> does since the packed path went in.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GemmPackedBBenchConfig))]
public class GemmPackedBBench
{
    private const int Steps = 50;
    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];
    private float[] _packed = [];

    public static IEnumerable<GemmShape> Shapes =>
    [
        new("NT 32x1024x256", Transpose.None, Transpose.Transposed, 32, 1024, 256),
        new("NN 32x256x1024", Transpose.None, Transpose.None, 32, 256, 1024),
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        GemmShape s = Shape;
        (_a, _b, _c) = GemmBenchData.Create(s.M * Steps, s.N, s.K);
        _c = new float[s.M * s.N * Steps];
        _packed = new float[Kernels.PackedBLength(s.K, s.N)];
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Steps)]
    public void RepackEveryStep()
    {
        GemmShape s = Shape;
        int ldb = s.TransB == Transpose.None ? s.N : s.K;
        for (int t = 0; t < Steps; t++)
            Kernels.Gemm(Transpose.None, s.TransB, s.M, s.N, s.K, 1f, _a.AsSpan(t * s.M * s.K, s.M * s.K), s.K, _b, ldb, 1f, _c.AsSpan(t * s.M * s.N, s.M * s.N), s.N);
    }

    [Benchmark(OperationsPerInvoke = Steps)]
    public void PackOncePerPass()
    {
        GemmShape s = Shape;
        int ldb = s.TransB == Transpose.None ? s.N : s.K;
        Kernels.PackGemmB(s.TransB, s.K, s.N, _b, ldb, _packed);
        for (int t = 0; t < Steps; t++)
            Kernels.GemmPackedB(s.M, s.N, s.K, _a.AsSpan(t * s.M * s.K, s.M * s.K), s.K, _packed, 1f, _c.AsSpan(t * s.M * s.N, s.M * s.N), s.N);
    }

    private sealed class GemmPackedBBenchConfig : ManualConfig
    {
        public GemmPackedBBenchConfig()
        {
            AddColumn(new GemmThroughputColumn("GFLOP/s", "2·m·n·k per step divided by the mean time", GemmBench.Flops));
            AddColumn(new GemmThroughputColumn("%Peak", "GFLOP/s as a percentage of 113 GFLOP/s", c => GemmBench.Flops(c) * 100 / GemmThroughputColumn.PeakGflops));
        }
    }
}
