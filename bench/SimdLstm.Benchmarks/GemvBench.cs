using System;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace SimdLstm.Benchmarks;

/// <summary>
/// y += W·x at the batch-1 LSTM step shape: W [4H, 2H] (input and hidden weights side by side, I = H).
/// The GB/s column counts the bytes that must move per call: W once, x once, y read and written.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(GemvBenchConfig))]
public class GemvBench
{
    private float[] _w = [];
    private float[] _x = [];
    private float[] _y = [];
    private float[] _wLeft = [];
    private float[] _wRight = [];

    [Params(64, 256, 1024)]
    public int H { get; set; }

    private int Rows => 4 * H;

    private int Cols => 2 * H;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _w = new float[Rows * Cols];
        _x = new float[Cols];
        _y = new float[Rows];
        foreach (float[] a in new[] { _w, _x })
        {
            for (int i = 0; i < a.Length; i++)
                a[i] = (float)(random.NextDouble() * 2 - 1);
        }

        _wLeft = new float[Rows * H];
        _wRight = new float[Rows * H];
        for (int r = 0; r < Rows; r++)
        {
            _w.AsSpan(r * Cols, H).CopyTo(_wLeft.AsSpan(r * H, H));
            _w.AsSpan(r * Cols + H, H).CopyTo(_wRight.AsSpan(r * H, H));
        }
    }

    [Benchmark(Baseline = true)]
    public void KernelsGemv() => Kernels.Gemv(_w, Rows, Cols, Cols, _x, _y);

    /// <summary>The previous four-row Vector256 kernel (see <see cref="GemvFourRowBaseline"/>), same shape.</summary>
    [Benchmark]
    public void FourRowBaseline() => GemvFourRowBaseline.Gemv(
        ref MemoryMarshal.GetArrayDataReference(_w), Rows, Cols, Cols, ref MemoryMarshal.GetArrayDataReference(_x), ref MemoryMarshal.GetArrayDataReference(_y));

    /// <summary>
    /// The batch-1 step's projection as the layer runs it: the left and right halves of W stored as two dense matrices
    /// [4H, H] (W_ih, W_hh), both streamed into the same accumulators by <see cref="Kernels.GemvPair"/>.
    /// </summary>
    [Benchmark]
    public void GemvPairStep() => Kernels.GemvPair(_wLeft, H, _x.AsSpan(0, H), _wRight, H, _x.AsSpan(H, H), Rows, _y);

    /// <summary>TensorPrimitives' nearest equivalent: one vectorised dot product per row.</summary>
    [Benchmark]
    public void TensorPrimitivesDotPerRow()
    {
        int cols = Cols;
        ReadOnlySpan<float> x = _x;
        for (int r = 0; r < _y.Length; r++)
            _y[r] += TensorPrimitives.Dot(_w.AsSpan(r * cols, cols), x);
    }

    [Benchmark]
    public void ScalarLoop()
    {
        int cols = Cols;
        float[] w = _w, x = _x, y = _y;
        for (int r = 0; r < y.Length; r++)
        {
            float s = 0f;
            int row = r * cols;
            for (int c = 0; c < cols; c++)
                s += w[row + c] * x[c];
            y[r] += s;
        }
    }

    internal static double Bytes(BenchmarkCase benchmarkCase)
    {
        int h = (int)benchmarkCase.Parameters["H"];
        long rows = 4L * h, cols = 2L * h;
        return 4.0 * ((rows * cols) + cols + (2 * rows));
    }

    private sealed class GemvBenchConfig : ManualConfig
    {
        public GemvBenchConfig() =>
            AddColumn(new GemmThroughputColumn("GB/s", "Bytes of W, x and y moved per call divided by the mean time", Bytes));
    }
}
