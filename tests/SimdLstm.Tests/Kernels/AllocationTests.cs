using System;
using Xunit;

namespace SimdLstm.Tests.Kernels;

/// <summary>Steady state allocates nothing: every pointwise kernel, called repeatedly after a warm-up, leaves this thread's allocation counter unchanged.</summary>
public class AllocationTests
{
    [Fact]
    public void PointwiseKernels_AllocateNothing()
    {
        const int n = 67;
        var x = new float[n];
        var y = new float[n];
        var gates = new float[4 * n];
        var dGates = new float[4 * n];
        var c = new float[n];
        var h = new float[n];
        var recurrent = new float[3 * n];
        var dRecurrent = new float[3 * n];
        for (int k = 0; k < n; k++)
            x[k] = k * 0.1f - 3f;

        void RunAll()
        {
            SimdLstm.Kernels.Sigmoid(x, y);
            SimdLstm.Kernels.Tanh(x, y);
            SimdLstm.Kernels.Relu(x, y);
            SimdLstm.Kernels.SigmoidDerivativeFromOutput(x, y);
            SimdLstm.Kernels.TanhDerivativeFromOutput(x, y);
            SimdLstm.Kernels.ReluDerivativeFromOutput(x, y);
            _ = SimdLstm.Kernels.Dot(x, y) + SimdLstm.Kernels.Sum(x) + SimdLstm.Kernels.SumOfSquares(x);
            SimdLstm.Kernels.Axpy(0.5f, x, y);
            SimdLstm.Kernels.Scale(0.5f, y);
            SimdLstm.Kernels.Scale(0.5f, x, y);
            SimdLstm.Kernels.Softmax(x, y);
            SimdLstm.Kernels.LogSoftmax(x, y);
            _ = SimdLstm.Kernels.SoftmaxCrossEntropy(x, 3, y, 0.25f);
            SimdLstm.Kernels.LstmPointwiseForward(gates, x, c, h);
            SimdLstm.Kernels.LstmPointwiseBackward(gates, x, c, h, y, dGates, y);
            SimdLstm.Kernels.RnnPointwiseForward(x, y, RnnActivation.Tanh);
            SimdLstm.Kernels.RnnPointwiseBackward(x, h, y, RnnActivation.Relu);
            SimdLstm.Kernels.GruPointwiseForward(gates.AsSpan(0, 3 * n), recurrent, x, h);
            SimdLstm.Kernels.GruPointwiseForward(gates.AsSpan(0, 3 * n), recurrent, h, h);
            SimdLstm.Kernels.GruPointwiseBackward(gates.AsSpan(0, 3 * n), recurrent, x, h, dGates.AsSpan(0, 3 * n), dRecurrent, y);
        }

        for (int k = 0; k < 50; k++)
            RunAll();
        Allocations.AssertNone(RunAll, count: 200);
    }
}
