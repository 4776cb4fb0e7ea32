using System;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;

namespace SimdLstm.Benchmarks;

/// <summary>Sigmoid and Tanh: ours vs TensorPrimitives vs a plain scalar loop over MathF.</summary>
[Config(typeof(PointwiseBenchConfig))]
public class ActivationBench
{
    private float[] _x = [];
    private float[] _y = [];

    [Params(64, 1024, 16384)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _x = new float[Length];
        _y = new float[Length];
        for (int k = 0; k < Length; k++)
            _x[k] = (float)(random.NextDouble() * 16 - 8);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Sigmoid")]
    public void SigmoidOurs() => Kernels.Sigmoid(_x, _y);

    [Benchmark]
    [BenchmarkCategory("Sigmoid")]
    public void SigmoidTensorPrimitives() => TensorPrimitives.Sigmoid(_x, _y);

    [Benchmark]
    [BenchmarkCategory("Sigmoid")]
    public void SigmoidScalar()
    {
        float[] x = _x, y = _y;
        for (int k = 0; k < x.Length && k < y.Length; k++)
            y[k] = 1f / (1f + MathF.Exp(-x[k]));
    }

    [Benchmark]
    [BenchmarkCategory("Tanh")]
    public void TanhOurs() => Kernels.Tanh(_x, _y);

    [Benchmark]
    [BenchmarkCategory("Tanh")]
    public void TanhTensorPrimitives() => TensorPrimitives.Tanh(_x, _y);

    [Benchmark]
    [BenchmarkCategory("Tanh")]
    public void TanhScalar()
    {
        float[] x = _x, y = _y;
        for (int k = 0; k < x.Length && k < y.Length; k++)
            y[k] = MathF.Tanh(x[k]);
    }
}
