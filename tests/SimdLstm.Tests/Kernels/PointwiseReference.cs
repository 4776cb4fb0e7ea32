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
}
