using System;
using System.Collections.Generic;
using Xunit;

namespace SimdLstm.Tests;

/// <summary>Puts the float64 reference's weights into a float buffer, so both implementations compute from identical weights.</summary>
internal static class ReferenceCopy
{
    /// <summary>
    /// Copies double tensors into the float buffer by name and rounds the doubles to the stored floats; every tensor of
    /// the buffer must be among them.
    /// </summary>
    public static void CopyNamed(IEnumerable<(string Name, double[] Values)> tensors, ParameterBuffer buffer)
    {
        int copied = 0;
        foreach ((string name, double[] values) in tensors)
        {
            Span<float> target = buffer[name].Span;
            Assert.Equal(values.Length, target.Length);
            for (int i = 0; i < values.Length; i++)
            {
                target[i] = (float)values[i];
                values[i] = target[i];
            }
            copied++;
        }
        Assert.Equal(buffer.Tensors.Count, copied);
    }
}
