using System;

namespace SimdLstm.Testing.Reference;

/// <summary>A fully connected layer over rows: y[n] = W x[n] + b, PyTorch's nn.Linear (weight [V, H], bias [V]).</summary>
public static class LinearReference
{
    /// <summary>Returns y [N, V] for x [N, H], weight [V, H] and optional bias [V].</summary>
    public static double[] Forward(double[] weight, double[]? bias, double[] x, int rows, int inFeatures, int outFeatures)
    {
        ReferenceMath.CheckLength(weight, outFeatures * inFeatures, "[V, H]", nameof(weight));
        if (bias is not null) ReferenceMath.CheckLength(bias, outFeatures, "[V]", nameof(bias));
        ReferenceMath.CheckLength(x, rows * inFeatures, "[N, H]", nameof(x));
        var y = new double[rows * outFeatures]; // [N, V]
        for (int n = 0; n < rows; n++)
        {
            for (int v = 0; v < outFeatures; v++)
            {
                double s = bias is null ? 0 : bias[v];
                for (int k = 0; k < inFeatures; k++)
                    s += weight[v * inFeatures + k] * x[n * inFeatures + k];
                y[n * outFeatures + v] = s;
            }
        }
        return y;
    }

    /// <summary>
    /// dWeight [V, H] += dYᵀ x and dBias [V] += column sums of dY (accumulated); returns dX [N, H] = dY W (new).
    /// </summary>
    public static double[] Backward(double[] weight, double[] x, double[] dY, int rows, int inFeatures, int outFeatures, double[] dWeight, double[]? dBias)
    {
        ReferenceMath.CheckLength(dY, rows * outFeatures, "[N, V]", nameof(dY));
        ReferenceMath.CheckLength(dWeight, outFeatures * inFeatures, "[V, H]", nameof(dWeight));
        var dX = new double[rows * inFeatures]; // [N, H]
        for (int n = 0; n < rows; n++)
        {
            for (int v = 0; v < outFeatures; v++)
            {
                double d = dY[n * outFeatures + v];
                for (int k = 0; k < inFeatures; k++)
                {
                    dWeight[v * inFeatures + k] += d * x[n * inFeatures + k];
                    dX[n * inFeatures + k] += d * weight[v * inFeatures + k];
                }
                if (dBias is not null)
                    dBias[v] += d;
            }
        }
        return dX;
    }
}

/// <summary>
/// Softmax followed by cross-entropy with integer targets, averaged over rows:
/// p[n] = softmax(logits[n]), loss = (1/N) Σ_n −log p[n, target[n]], dLogits = (p − onehot(target)) / N.
/// </summary>
public static class SoftmaxCrossEntropyReference
{
    /// <summary>Returns the mean loss over logits [N, V] and targets [N]; <paramref name="probabilities"/> [N, V] receives p.</summary>
    public static double Forward(double[] logits, int[] targets, int rows, int classes, out double[] probabilities)
    {
        ReferenceMath.CheckLength(logits, rows * classes, "[N, V]", nameof(logits));
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Length != rows)
            throw new ArgumentException($"Expected [N] = {rows} targets but got {targets.Length}.", nameof(targets));
        probabilities = new double[rows * classes];
        double total = 0;
        for (int n = 0; n < rows; n++)
        {
            if ((uint)targets[n] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(targets), targets[n], $"Expected targets in [0, {classes}).");
            // Subtracting the row maximum keeps exp from overflowing; it cancels in the ratio.
            double max = double.NegativeInfinity;
            for (int v = 0; v < classes; v++)
                max = Math.Max(max, logits[n * classes + v]);
            double sum = 0;
            for (int v = 0; v < classes; v++)
                sum += Math.Exp(logits[n * classes + v] - max);
            for (int v = 0; v < classes; v++)
                probabilities[n * classes + v] = Math.Exp(logits[n * classes + v] - max) / sum;
            // −log p[target] = log Σ exp(z − max) − (z_target − max), without forming a tiny p.
            total += Math.Log(sum) - (logits[n * classes + targets[n]] - max);
        }
        return total / rows;
    }

    /// <summary>dLogits [N, V] = (p − onehot(target)) / N.</summary>
    public static double[] Backward(double[] probabilities, int[] targets, int rows, int classes, ReferenceFault faults = ReferenceFault.None)
    {
        var dLogits = new double[rows * classes]; // [N, V]
        for (int n = 0; n < rows; n++)
        {
            for (int v = 0; v < classes; v++)
            {
                double p = probabilities[n * classes + v];
                double d = (p - (v == targets[n] ? 1 : 0)) / rows;
                if (faults.HasFlag(ReferenceFault.SoftmaxDerivativeOnCrossEntropy))
                    d *= p * (1 - p);
                dLogits[n * classes + v] = d;
            }
        }
        return dLogits;
    }
}

/// <summary>Token inputs: an integer per (t, b), equivalent to a one-hot input vector.</summary>
public static class TokenReference
{
    /// <summary>Returns the one-hot input [T, B, V] of tokens [T, B]: element (t, b, tokens[t, b]) is 1, the rest 0.</summary>
    public static double[] OneHot(int[] tokens, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var oneHot = new double[tokens.Length * vocabularySize]; // [T, B, V]
        for (int n = 0; n < tokens.Length; n++)
        {
            if ((uint)tokens[n] >= (uint)vocabularySize)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[n], $"Expected tokens in [0, {vocabularySize}).");
            oneHot[n * vocabularySize + tokens[n]] = 1;
        }
        return oneHot;
    }
}
