using System;

namespace SimdLstm.Tests.Kernels;

/// <summary>
/// The float64 oracle for the pointwise kernels: the textbook formulas, evaluated naively in double
/// from the float inputs. Nothing here shares code with the library.
/// </summary>
internal static class PointwiseReference
{
    public static double Sigmoid(double x) => x >= 0 ? 1.0 / (1.0 + Math.Exp(-x)) : Math.Exp(x) / (1.0 + Math.Exp(x));

    public static double Tanh(double x) => Math.Tanh(x);

    public static double Relu(double x) => double.IsNaN(x) ? x : x > 0 ? x : 0.0;

    public static double SigmoidDerivative(double s) => s * (1.0 - s);

    public static double TanhDerivative(double t) => 1.0 - t * t;

    public static double ReluDerivative(double r) => r > 0 ? 1.0 : 0.0;

    /// <summary>One LSTM pointwise step in double from pre-activations; returns the activations, c and h.</summary>
    public static (double[] Activations, double[] C, double[] H) LstmForward(ReadOnlySpan<double> pre, ReadOnlySpan<double> cPrev)
    {
        int n = cPrev.Length;
        var act = new double[4 * n];
        var c = new double[n];
        var h = new double[n];
        for (int j = 0; j < n; j++)
        {
            double i = Sigmoid(pre[j]), f = Sigmoid(pre[n + j]), g = Math.Tanh(pre[2 * n + j]), o = Sigmoid(pre[3 * n + j]);
            (act[j], act[n + j], act[2 * n + j], act[3 * n + j]) = (i, f, g, o);
            c[j] = f * cPrev[j] + i * g;
            h[j] = o * Math.Tanh(c[j]);
        }

        return (act, c, h);
    }

    /// <summary>
    /// The LSTM pointwise backward formulas in double, from saved activations and cell states:
    /// dc = dCNext + dH·o·(1 − tanh²c); dI = dc·g·i(1−i); dF = dc·cPrev·f(1−f); dG = dc·i·(1−g²);
    /// dO = dH·tanh(c)·o(1−o); dCPrev = dc·f.
    /// </summary>
    public static (double[] DGates, double[] DCPrev) LstmBackward(
        ReadOnlySpan<double> act, ReadOnlySpan<double> cPrev, ReadOnlySpan<double> c, ReadOnlySpan<double> dH, ReadOnlySpan<double> dCNext)
    {
        int n = cPrev.Length;
        var dGates = new double[4 * n];
        var dCPrev = new double[n];
        for (int j = 0; j < n; j++)
        {
            double i = act[j], f = act[n + j], g = act[2 * n + j], o = act[3 * n + j];
            double tc = Math.Tanh(c[j]);
            double dc = dCNext[j] + dH[j] * o * (1 - tc * tc);
            dGates[j] = dc * g * i * (1 - i);
            dGates[n + j] = dc * cPrev[j] * f * (1 - f);
            dGates[2 * n + j] = dc * i * (1 - g * g);
            dGates[3 * n + j] = dH[j] * tc * o * (1 - o);
            dCPrev[j] = dc * f;
        }

        return (dGates, dCPrev);
    }

    public static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int k = 0; k < values.Length; k++)
            result[k] = values[k];
        return result;
    }
}
