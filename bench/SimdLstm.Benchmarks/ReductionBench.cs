using System;
using BenchmarkDotNet.Attributes;

namespace SimdLstm.Benchmarks;

/// <summary>Dot, Sum and Axpy (ours delegate to TensorPrimitives after validation) vs plain scalar loops.</summary>
[Config(typeof(PointwiseBenchConfig))]
public class ReductionBench
{
    private float[] _x = [];
    private float[] _y = [];

    [Params(64, 1024, 16384)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        _x = new float[Length];
        _y = new float[Length];
        for (int k = 0; k < Length; k++)
        {
            _x[k] = (float)random.NextDouble();
            _y[k] = (float)random.NextDouble();
        }
    }

    [Benchmark(Baseline = true)]
    public float DotOurs() => Kernels.Dot(_x, _y);

    [Benchmark]
    public float DotScalar()
    {
        float[] x = _x, y = _y;
        float sum = 0;
        for (int k = 0; k < x.Length && k < y.Length; k++)
            sum += x[k] * y[k];
        return sum;
    }

    [Benchmark]
    public float SumOurs() => Kernels.Sum(_x);

    [Benchmark]
    public float SumScalar()
    {
        float sum = 0;
        foreach (float v in _x)
            sum += v;
        return sum;
    }

    [Benchmark]
    public void AxpyOurs() => Kernels.Axpy(1e-7f, _x, _y);

    [Benchmark]
    public void AxpyScalar()
    {
        float[] x = _x, y = _y;
        for (int k = 0; k < x.Length && k < y.Length; k++)
            y[k] = MathF.FusedMultiplyAdd(1e-7f, x[k], y[k]);
    }
}
