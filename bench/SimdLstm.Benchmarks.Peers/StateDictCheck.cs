using System;
using System.Collections.Generic;
using System.Linq;
using SimdLstm.Interop;
using SimdLstm.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// PyTorch state_dicts against libtorch's own modules (<c>--state-dict-check</c>): a SimdLstm layer saved with
/// <see cref="TorchStateDict"/> is loaded by <c>nn.LSTM</c>/<c>nn.GRU</c>/<c>nn.RNN</c>'s <c>load_state_dict</c> with
/// <c>strict</c> on and runs the same outputs; the other way, a libtorch module's own <c>state_dict()</c> (its names, order
/// and shapes) written to safetensors loads with <see cref="TorchStateDict.LoadLayer(SafeTensorsFile, TorchLoadOptions?)"/>
/// into a layer that runs libtorch's outputs. libtorch has no <c>proj_size</c>, so projections are not covered here.
/// </summary>
internal static class StateDictCheck
{
    public static int Run()
    {
        int failures = 0;
        double worst = 0;
        foreach (CellKind cell in new[] { CellKind.Lstm, CellKind.Gru, CellKind.Rnn })
        {
            foreach (int layers in new[] { 1, 2 })
            {
                foreach (bool bidirectional in new[] { false, true })
                {
                    foreach (bool bias in new[] { true, false })
                    {
                        var options = new RecurrentOptions(cell, 5, 7, layers, bias, RnnActivation.Tanh, bidirectional);
                        string what = $"{cell} layers={layers} bidirectional={bidirectional} bias={bias}";
                        try
                        {
                            worst = Math.Max(worst, Check(options));
                        }
                        catch (Exception e)
                        {
                            failures++;
                            Console.WriteLine($"state-dict check FAILED: {what}: {e.GetType().Name}: {e.Message}");
                        }
                    }
                }
            }
        }
        Console.WriteLine(failures == 0
            ? $"state-dict check: 24 configurations load both ways with strict names and shapes; largest output difference {worst:G3}"
            : $"state-dict check: {failures} configuration(s) failed");
        return failures == 0 ? 0 : 3;
    }

    // Returns the largest |difference| of the outputs over both directions of the exchange.
    private static double Check(RecurrentOptions options)
    {
        const int steps = 6, batch = 3;
        var layer = new RecurrentLayer(options, seed: 5);
        var random = new Random(9);
        float[] x = Enumerable.Range(0, steps * batch * options.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        using var _ = no_grad();
        using nn.Module module = Create(options);

        // SimdLstm → libtorch: every tensor by its PyTorch name, strict (a missing or unexpected name throws).
        SafeTensorsFile saved = SafeTensorsFile.Parse(TorchStateDict.ToWriter(layer).ToArray());
        var dict = new Dictionary<string, Tensor>();
        foreach (SafeTensorInfo info in saved.Tensors)
            dict[info.Name] = tensor(saved.Read(info.Name), info.Shape.ToArray());
        module.load_state_dict(dict, strict: true);
        foreach (Tensor t in dict.Values)
            t.Dispose();
        double worst = Compare(layer, module, x, steps, batch);

        // libtorch → SimdLstm: the module's own state_dict, in its order, as safetensors.
        using nn.Module fresh = Create(options);
        var writer = new SafeTensorsWriter();
        var names = new List<string>();
        foreach ((string name, Tensor value) in fresh.state_dict())
        {
            names.Add(name);
            writer.AddCopy(name, value.shape.Select(d => (int)d).ToArray(), value.data<float>().ToArray());
        }
        string[] expected = RecurrentParameters.Layout(options).Select(t => t.Name).ToArray();
        if (!names.SequenceEqual(expected))
            throw new InvalidOperationException($"libtorch's state_dict names [{string.Join(", ", names)}] differ from SimdLstm's [{string.Join(", ", expected)}]");
        RecurrentLayer loaded = TorchStateDict.LoadLayer(SafeTensorsFile.Parse(writer.ToArray()));
        if (loaded.Options != options)
            throw new InvalidOperationException($"the options read from libtorch's tensors, {loaded.Options}, differ from {options}");
        return Math.Max(worst, Compare(loaded, fresh, x, steps, batch));
    }

    private static nn.Module Create(RecurrentOptions o) => o.Cell switch
    {
        CellKind.Lstm => nn.LSTM(o.InputSize, o.HiddenSize, o.NumLayers, bias: o.Bias, bidirectional: o.Bidirectional),
        CellKind.Gru => nn.GRU(o.InputSize, o.HiddenSize, o.NumLayers, bias: o.Bias, bidirectional: o.Bidirectional),
        _ => nn.RNN(o.InputSize, o.HiddenSize, o.NumLayers, bias: o.Bias, bidirectional: o.Bidirectional),
    };

    // Runs both from zero states on x [T, B, I]; outputs must agree within 1e-4 (float rounding of sums of ≤ 19 terms over
    // 6 steps and 2 layers is below 1e-5), and returns the largest difference.
    private static double Compare(RecurrentLayer layer, nn.Module module, float[] x, int steps, int batch)
    {
        RecurrentOptions o = layer.Options;
        float[] ours = new float[steps * batch * o.OutputSize];
        layer.Forward(x, steps, layer.CreateState(batch), layer.CreateWorkspace(steps, batch), ours);
        using Tensor input = tensor(x, [steps, batch, o.InputSize]);
        Tensor y = module switch
        {
            TorchSharp.Modules.LSTM lstm => lstm.forward(input).Item1,
            TorchSharp.Modules.GRU gru => gru.forward(input).Item1,
            TorchSharp.Modules.RNN rnn => rnn.forward(input, null).Item1,
            _ => throw new InvalidOperationException("unknown module"),
        };
        float[] theirs = y.data<float>().ToArray();
        y.Dispose();
        double worst = 0;
        for (int i = 0; i < ours.Length; i++)
            worst = Math.Max(worst, Math.Abs(ours[i] - theirs[i]));
        if (!(worst <= 1e-4))
            throw new InvalidOperationException($"outputs differ by {worst:G3}");
        return worst;
    }
}
