using System;

namespace SimdLstm.Testing.Reference;

/// <summary>The few scalar functions and shape checks the reference shares.</summary>
internal static class ReferenceMath
{
    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>Throws an ArgumentException naming <paramref name="name"/> with the expected and actual length.</summary>
    public static void CheckLength(double[] array, int expected, string shape, string name)
    {
        ArgumentNullException.ThrowIfNull(array, name);
        if (array.Length != expected)
            throw new ArgumentException($"Expected {shape} = {expected} elements but got {array.Length}.", name);
    }

    /// <summary>
    /// The initial state (<paramref name="shape"/>, e.g. [L·D, B, H']): a copy of <paramref name="given"/>, or zeros when
    /// absent (PyTorch's default) — ones under <see cref="ReferenceFault.InitialStateOnes"/>.
    /// </summary>
    public static double[] InitialState(double[]? given, int length, string shape, string name, ReferenceFault faults)
    {
        if (given is not null)
        {
            CheckLength(given, length, shape, name);
            return (double[])given.Clone();
        }
        var state = new double[length];
        if (faults.HasFlag(ReferenceFault.InitialStateOnes))
            Array.Fill(state, 1.0);
        return state;
    }
}
