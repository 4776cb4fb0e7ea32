// Streaming inference: one step of a two-layer LSTM per incoming sample, with caller-owned state and scratch, from a
// packed copy of the weights. Prints the time per step and the bytes allocated per step (0).
using System;
using System.Diagnostics;
using SimdLstm;

const int inputSize = 32, hiddenSize = 128, steps = 20_000;

var lstm = new RecurrentLayer(RecurrentOptions.Lstm(inputSize, hiddenSize, numLayers: 2), seed: 42);
PackedRecurrentLayer fast = lstm.Pack();                          // the weights laid out for streaming, once
RecurrentState state = fast.CreateState(batchSize: 1);            // h = c = 0
InferenceWorkspace workspace = fast.CreateWorkspace(maxSteps: 1); // scratch, allocated once
float[] sample = new float[inputSize];
float[] output = new float[hiddenSize];
var random = new Random(1);

void StepOnce()
{
    for (int i = 0; i < sample.Length; i++)
        sample[i] = (float)(random.NextDouble() * 2 - 1);      // stands for a sensor reading, an audio frame, …
    fast.Step(sample, state, workspace, output);
}

// The first steps run while the JIT is still optimising the kernels (tiered compilation): timed apart.
const int warmUp = 2_000;
long warmUpStart = Stopwatch.GetTimestamp();
for (int i = 0; i < warmUp; i++)
    StepOnce();
TimeSpan warmUpTime = Stopwatch.GetElapsedTime(warmUpStart);
long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
long start = Stopwatch.GetTimestamp();
for (int i = 0; i < steps; i++)
    StepOnce();
TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

Console.WriteLine($"LSTM I={inputSize} H={hiddenSize} layers=2: first {warmUp} steps {warmUpTime.TotalMicroseconds / warmUp:F2} µs per step; " +
                  $"next {steps} steps {elapsed.TotalMicroseconds / steps:F2} µs per step, {allocated} bytes allocated in all");
Console.WriteLine($"h[0..4] after the last step: {string.Join(", ", output[..4])}");
state.Reset();                                                   // a new stream starts from zero
// The steps allocate nothing; the runtime itself may allocate a few bytes on this thread now and then (tiered
// compilation installing optimised code), far less than one byte per step.
return allocated < steps ? 0 : 1;
