using System;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;

namespace SimdLstm.Benchmarks;

/// <summary>Softmax: ours vs TensorPrimitives.SoftMax (which overflows for large logits) vs a scalar max-subtracting loop; and cross-entropy.</summary>
[Config(typeof(PointwiseBenchConfig))]
public class SoftmaxBench
{
    private float[] _x = [];
    private float[] _y = [];

    [Params(64, 1024, 16384)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        _x = new float[Length];
        _y = new float[Length];
        for (int k = 0; k < Length; k++)
            _x[k] = (float)(random.NextDouble() * 10 - 5);
    }

    [Benchmark(Baseline = true)]
    public void SoftmaxOurs() => Kernels.Softmax(_x, _y);

    [Benchmark]
    public void SoftmaxTensorPrimitives() => TensorPrimitives.SoftMax(_x, _y);

    [Benchmark]
    public void SoftmaxScalar()
    {
        float[] x = _x, y = _y;
        float max = float.NegativeInfinity;
        foreach (float v in x)
            max = MathF.Max(max, v);
        float sum = 0;
        for (int k = 0; k < x.Length && k < y.Length; k++)
            sum += y[k] = MathF.Exp(x[k] - max);
        float inv = 1f / sum;
        for (int k = 0; k < y.Length; k++)
            y[k] *= inv;
    }

    [Benchmark]
    public float SoftmaxCrossEntropyOurs() => Kernels.SoftmaxCrossEntropy(_x, 3, _y);
}
