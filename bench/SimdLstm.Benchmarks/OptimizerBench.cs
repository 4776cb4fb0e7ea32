using System;
using BenchmarkDotNet.Attributes;
using SimdLstm.Training;

namespace SimdLstm.Benchmarks;

/// <summary>
/// One optimiser step over a flat parameter vector, and global-norm clipping. Sizes: 16 Ki floats
/// (Adam's four streams, 256 KiB, stay in L2) and 1 Mi floats (16 MiB for Adam: L3/memory).
/// <see cref="AdamScalarLoop"/> is the same Adam update as a plain scalar loop, the baseline for the vector paths.
/// </summary>
[MemoryDiagnoser]
public class OptimizerBench
{
    private float[] _parameters = [];
    private float[] _gradients = [];
    private float[] _m = [];
    private float[] _v = [];
    private Sgd _sgd = null!;
    private Sgd _momentum = null!;
    private Adam _adam = null!;
    private AdamW _adamW = null!;
    private Adagrad _adagrad = null!;

    [Params(16 * 1024, 1024 * 1024)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _parameters = new float[Length];
        _gradients = new float[Length];
        _m = new float[Length];
        _v = new float[Length];
        for (int i = 0; i < Length; i++)
        {
            _parameters[i] = (float)(rng.NextDouble() - 0.5);
            _gradients[i] = (float)(rng.NextDouble() - 0.5) * 1e-3f;
        }
        // Tiny learning rates keep the parameters bounded however many iterations the harness runs.
        _sgd = new Sgd(Length, 1e-9f);
        _momentum = new Sgd(Length, 1e-9f, momentum: 0.9f, weightDecay: 1e-4f);
        _adam = new Adam(Length, 1e-9f);
        _adamW = new AdamW(Length, 1e-9f);
        _adagrad = new Adagrad(Length, 1e-9f);
    }

    [Benchmark]
    public void Sgd() => _sgd.Step(_parameters, _gradients);

    [Benchmark]
    public void SgdMomentum() => _momentum.Step(_parameters, _gradients);

    [Benchmark]
    public void Adam() => _adam.Step(_parameters, _gradients);

    [Benchmark]
    public void AdamW() => _adamW.Step(_parameters, _gradients);

    [Benchmark]
    public void Adagrad() => _adagrad.Step(_parameters, _gradients);

    [Benchmark]
    public float ClipByGlobalNorm() => GradientClipping.ClipByGlobalNorm(_gradients, float.PositiveInfinity);

    [Benchmark(Baseline = true)]
    public void AdamScalarLoop()
    {
        const float Beta1 = 0.9f, Beta2 = 0.999f, Eps = 1e-8f, NegStep = -1e-9f, Bias2Sqrt = 0.5f;
        float[] p = _parameters, g = _gradients, m = _m, v = _v;
        for (int i = 0; i < p.Length; i++)
        {
            float gi = g[i];
            float mi = m[i] + (1 - Beta1) * (gi - m[i]);
            float vi = v[i] * Beta2 + (1 - Beta2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] += NegStep * mi / (MathF.Sqrt(vi) / Bias2Sqrt + Eps);
        }
    }
}
