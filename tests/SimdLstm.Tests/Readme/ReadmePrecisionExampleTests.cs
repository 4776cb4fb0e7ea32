using System;
using SimdLstm.Testing;
using Xunit;

namespace SimdLstm.Tests.Readme;

/// <summary>
/// The README's example of packed copies at a lower precision, compiled and run (see <see cref="ReadmeExampleTests"/>
/// for how it is matched against README.md).
/// </summary>
public class ReadmePrecisionExampleTests
{
    [Fact]
    public void PrecisionExample_StepsAnInt8CopyCloseToFloat32_WithAQuarterOfTheBytes()
    {
        var random = new Random(5);
        float[][] incoming = new float[200][];
        for (int i = 0; i < incoming.Length; i++)
        {
            incoming[i] = new float[32];
            for (int j = 0; j < 32; j++) incoming[i][j] = 2f * (float)random.NextDouble() - 1f;
        }
        var lstm = new RecurrentLayer(RecurrentOptions.Lstm(inputSize: 32, hiddenSize: 128, numLayers: 2), seed: 42);
        PackedRecurrentLayer fast = lstm.Pack();
        RecurrentState fastState = fast.CreateState();
        InferenceWorkspace fastWorkspace = fast.CreateWorkspace();
        float[] reference = new float[128];

        // --- README.md: precision ---
        PackedRecurrentLayer small = lstm.Pack(PackedPrecision.Int8);       // or PackedPrecision.BFloat16
        RecurrentState state = small.CreateState(batchSize: 1);
        InferenceWorkspace workspace = small.CreateWorkspace(maxSteps: 1);  // serves copies of this precision only
        float[] output = new float[128];
        foreach (float[] sample in incoming)
            small.Step(sample, state, workspace, output);
        // --- end ---

        // What the README says of int8: within 2e-2 of the fp32 copy over a stream (the measured bound its table gives,
        // the figure; the accuracy tests derive and check it over 1000-step streams) and about a quarter of the
        // weight bytes (1 byte a weight plus a 4-byte scale per 64-row panel row, against 4 bytes a weight).
        double largest = 0;
        RecurrentState again = small.CreateState();
        float[] quantised = new float[128];
        foreach (float[] sample in incoming)
        {
            small.Step(sample, again, workspace, quantised);
            fast.Step(sample, fastState, fastWorkspace, reference);
            for (int k = 0; k < reference.Length; k++)
                largest = Math.Max(largest, Math.Abs(quantised[k] - reference[k]));
        }
        Assert.True(largest <= 2e-2, $"max |Δh| {largest}");
        Assert.True(largest > 0, "an int8 copy that equals fp32 bitwise was not quantised");
        Assert.Equal(quantised, output);
        double ratio = (double)small.WeightBytes / fast.WeightBytes;
        Assert.InRange(ratio, 0.25, 0.32);
        Allocations.AssertNone(() =>
        {
            foreach (float[] sample in incoming)
                small.Step(sample, state, workspace, output);
        }, count: 2);
    }
}
