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

    /// <summary>
    /// One GRU pointwise step in double (PyTorch's nn.GRU, gate blocks r, z, n) from the input projection gi [3H], the
    /// recurrent projection gh [3H] and h₋₁: r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n),
    /// h = (1 − z)·n + z·h₋₁. Returns the activations r, z, n and h.
    /// </summary>
    public static (double[] Activations, double[] H) GruForward(ReadOnlySpan<double> gi, ReadOnlySpan<double> gh, ReadOnlySpan<double> hPrev)
    {
        int n = hPrev.Length;
        var act = new double[3 * n];
        var h = new double[n];
        for (int j = 0; j < n; j++)
        {
            double r = Sigmoid(gi[j] + gh[j]);
            double z = Sigmoid(gi[n + j] + gh[n + j]);
            double candidate = Math.Tanh(gi[2 * n + j] + r * gh[2 * n + j]);
            (act[j], act[n + j], act[2 * n + j]) = (r, z, candidate);
            h[j] = (1 - z) * candidate + z * hPrev[j];
        }

        return (act, h);
    }

    /// <summary>
    /// The GRU pointwise backward formulas in double, from the saved activations r, z, n, the recurrent projection gh
    /// (only its n block is read), h₋₁ and dL/dh: dn = dH·(1 − z)·(1 − n²); dr = dn·gh_n·r(1 − r);
    /// dz = dH·(h₋₁ − n)·z(1 − z); dGates = (dr, dz, dn) (the gradient of gi), dRecurrent = (dr, dz, dn·r) (of gh),
    /// dHPrev = dH·z (of h₋₁ with gh held fixed).
    /// </summary>
    public static (double[] DGates, double[] DRecurrent, double[] DHPrev) GruBackward(
        ReadOnlySpan<double> act, ReadOnlySpan<double> gh, ReadOnlySpan<double> hPrev, ReadOnlySpan<double> dH)
    {
        int n = hPrev.Length;
        var dGates = new double[3 * n];
        var dRecurrent = new double[3 * n];
        var dHPrev = new double[n];
        for (int j = 0; j < n; j++)
        {
            double r = act[j], z = act[n + j], candidate = act[2 * n + j];
            double dn = dH[j] * (1 - z) * (1 - candidate * candidate);
            double dr = dn * gh[2 * n + j] * r * (1 - r);
            double dz = dH[j] * (hPrev[j] - candidate) * z * (1 - z);
            (dGates[j], dGates[n + j], dGates[2 * n + j]) = (dr, dz, dn);
            (dRecurrent[j], dRecurrent[n + j], dRecurrent[2 * n + j]) = (dr, dz, dn * r);
            dHPrev[j] = dH[j] * z;
        }

        return (dGates, dRecurrent, dHPrev);
    }

    public static double[] ToDouble(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int k = 0; k < values.Length; k++)
            result[k] = values[k];
        return result;
    }
}
