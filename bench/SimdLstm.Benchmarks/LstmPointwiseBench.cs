using System;
using BenchmarkDotNet.Attributes;

namespace SimdLstm.Benchmarks;

/// <summary>
/// The LSTM pointwise step for one row of H = Length: fused kernel vs the same computation from the
/// unfused kernels vs a scalar MathF loop; and the fused backward. The GRU pointwise step (3H gates and a
/// separate recurrent projection) on the same H, forward and backward, for comparison.
/// </summary>
[Config(typeof(PointwiseBenchConfig))]
public class LstmPointwiseBench
{
    private float[] _pre = [];
    private float[] _gates = [];
    private float[] _cPrev = [];
    private float[] _c = [];
    private float[] _h = [];
    private float[] _dH = [];
    private float[] _dCNext = [];
    private float[] _dGates = [];
    private float[] _dCPrev = [];
    private float[] _gruPre = [];
    private float[] _gruGates = [];
    private float[] _gruRecurrent = [];
    private float[] _gruDRecurrent = [];

    [Params(64, 1024, 16384)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(4);
        int n = Length;
        _pre = new float[4 * n];
        _gates = new float[4 * n];
        _cPrev = new float[n];
        _c = new float[n];
        _h = new float[n];
        _dH = new float[n];
        _dCNext = new float[n];
        _dGates = new float[4 * n];
        _dCPrev = new float[n];
        for (int k = 0; k < 4 * n; k++)
            _pre[k] = (float)(random.NextDouble() * 8 - 4);
        for (int k = 0; k < n; k++)
        {
            _cPrev[k] = (float)(random.NextDouble() * 2 - 1);
            _dH[k] = (float)(random.NextDouble() * 2 - 1);
            _dCNext[k] = (float)(random.NextDouble() * 2 - 1);
        }

        _pre.CopyTo(_gates, 0);
        Kernels.LstmPointwiseForward(_gates, _cPrev, _c, _h);

        _gruPre = _pre[..(3 * n)];
        _gruRecurrent = new float[3 * n];
        for (int k = 0; k < 3 * n; k++)
            _gruRecurrent[k] = (float)(random.NextDouble() * 4 - 2);
        _gruGates = (float[])_gruPre.Clone();
        _gruDRecurrent = new float[3 * n];
        Kernels.GruPointwiseForward(_gruGates, _gruRecurrent, _cPrev, _h);
    }

    [Benchmark(Baseline = true)]
    public void ForwardFused()
    {
        _pre.AsSpan().CopyTo(_gates);
        Kernels.LstmPointwiseForward(_gates, _cPrev, _c, _h);
    }

    [Benchmark]
    public void ForwardUnfused()
    {
        int n = Length;
        Span<float> g = _gates;
        _pre.AsSpan().CopyTo(g);
        Kernels.Sigmoid(g[..(2 * n)], g[..(2 * n)]);
        Kernels.Tanh(g.Slice(2 * n, n), g.Slice(2 * n, n));
        Kernels.Sigmoid(g.Slice(3 * n, n), g.Slice(3 * n, n));
        float[] c = _c, cPrev = _cPrev, h = _h;
        for (int j = 0; j < n; j++)
            c[j] = MathF.FusedMultiplyAdd(g[n + j], cPrev[j], g[j] * g[2 * n + j]);
        Kernels.Tanh(c, h);
        for (int j = 0; j < n; j++)
            h[j] *= g[3 * n + j];
    }

    [Benchmark]
    public void ForwardScalar()
    {
        int n = Length;
        float[] g = _gates, pre = _pre, c = _c, cPrev = _cPrev, h = _h;
        for (int j = 0; j < n; j++)
        {
            float i = 1f / (1f + MathF.Exp(-pre[j]));
            float f = 1f / (1f + MathF.Exp(-pre[n + j]));
            float gg = MathF.Tanh(pre[2 * n + j]);
            float o = 1f / (1f + MathF.Exp(-pre[3 * n + j]));
            (g[j], g[n + j], g[2 * n + j], g[3 * n + j]) = (i, f, gg, o);
            c[j] = f * cPrev[j] + i * gg;
            h[j] = o * MathF.Tanh(c[j]);
        }
    }

    [Benchmark]
    public void BackwardFused() => Kernels.LstmPointwiseBackward(_gates, _cPrev, _c, _dH, _dCNext, _dGates, _dCPrev);

    [Benchmark]
    public void GruForwardFused()
    {
        _gruPre.AsSpan().CopyTo(_gruGates);
        Kernels.GruPointwiseForward(_gruGates, _gruRecurrent, _cPrev, _h);
    }

    [Benchmark]
    public void GruBackwardFused() =>
        Kernels.GruPointwiseBackward(_gruGates, _gruRecurrent, _cPrev, _dH, _dGates.AsSpan(0, 3 * Length), _gruDRecurrent, _dCPrev);
}
