// Feeds each input to SafeTensorsFile.Parse and ModelCheckpoint.Load. Any exception other than the format exception,
// or a run the fuzzer kills for memory or time, is a finding.
//   libFuzzer: SimdLstm.Fuzz [libFuzzer options] CORPUS_DIR      (with libfuzzer-dotnet as the driver)
//   AFL:       afl-fuzz -i CORPUS_DIR -o FINDINGS -- SimdLstm.Fuzz --afl
using System;
using System.IO;
using SharpFuzz;
using SimdLstm.Serialization;
using SimdLstm.Text;

if (args.Length > 0 && args[0] == "--afl")
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        LoadOne(copy.ToArray());
    });
}
else
{
    Fuzzer.LibFuzzer.Run(bytes => LoadOne(bytes.ToArray()));
}

static void LoadOne(byte[] bytes)
{
    try
    {
        ModelCheckpoint.Load(SafeTensorsFile.Parse(bytes));
    }
    catch (SafeTensorsFormatException)
    {
        // The one failure a corrupt file may cause.
    }
}
