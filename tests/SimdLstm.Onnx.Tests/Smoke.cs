namespace SimdLstm.Onnx.Tests;
public class Smoke { [Xunit.Fact] public void Runs() { using var o = new Microsoft.ML.OnnxRuntime.SessionOptions(); } }
