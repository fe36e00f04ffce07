using MLNet.Explain.Onnx;

namespace MLNet.Explain.Tests.Onnx;

[TestClass]
public sealed class NpyFileTests
{
    // Written by numpy 1.24.2: np.save(f, np.arange(6, dtype=np.float32).reshape(2, 3)).
    private const string NumpyFloat32Matrix = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPwAAAEAAAEBAAACAQAAAoEA=";
    // np.save(f, np.array([3, -1, 7], dtype=np.int64))
    private const string NumpyInt64Vector = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoDAAAAAAAAAP//////////BwAAAAAAAAA=";
    // np.save(f, np.float64(2.5) * np.ones(()))  (a 0-d array)
    private const string NumpyFloat64Scalar = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAEQA==";
    // np.save(f, np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    private const string NumpyFortranOrder = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAABAQAAAgD8AAIBAAAAAQAAAoEA=";
    // np.save(f, np.arange(3, dtype='>f4'))
    private const string NumpyBigEndian = "k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAP4AAAEAAAAA=";

    [TestMethod]
    public void ReadsWhatNumpyWrote()
    {
        var matrix = NpyFile.Read<float>(new MemoryStream(Convert.FromBase64String(NumpyFloat32Matrix)));
        CollectionAssert.AreEqual(new[] { 2, 3 }, matrix.Shape);
        CollectionAssert.AreEqual(new[] { 0f, 1f, 2f, 3f, 4f, 5f }, matrix.Data);

        var vector = NpyFile.Read<long>(new MemoryStream(Convert.FromBase64String(NumpyInt64Vector)));
        CollectionAssert.AreEqual(new[] { 3 }, vector.Shape);
        CollectionAssert.AreEqual(new[] { 3L, -1L, 7L }, vector.Data);

        var scalar = NpyFile.Read<double>(new MemoryStream(Convert.FromBase64String(NumpyFloat64Scalar)));
        Assert.IsEmpty(scalar.Shape);
        CollectionAssert.AreEqual(new[] { 2.5 }, scalar.Data);
    }

    [TestMethod]
    public void WritesTheSameBytesAsNumpy()
    {
        AssertWrites(NumpyFloat32Matrix, new NpyArray<float>([0f, 1f, 2f, 3f, 4f, 5f], [2, 3]));
        AssertWrites(NumpyInt64Vector, new NpyArray<long>([3L, -1L, 7L], [3]));
        AssertWrites(NumpyFloat64Scalar, new NpyArray<double>([2.5], []));
    }

    [TestMethod]
    public void RoundTripsThroughFilesForEveryElementType()
    {
        var dir = Directory.CreateTempSubdirectory("npy-");
        try
        {
            var random = new Random(7);
            var floats = Enumerable.Range(0, 2 * 3 * 4 * 5).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            var doubles = Enumerable.Range(0, 17).Select(_ => random.NextDouble() * 1e300).ToArray();
            var longs = new[] { long.MinValue, -1L, 0L, long.MaxValue };

            string f = Path.Combine(dir.FullName, "f.npy"), d = Path.Combine(dir.FullName, "d.npy"), l = Path.Combine(dir.FullName, "l.npy");
            NpyFile.Write(f, floats, 2, 3, 4, 5);
            NpyFile.Write(d, doubles, 17);
            NpyFile.Write(l, longs, 2, 2);

            var f2 = NpyFile.Read<float>(f);
            var d2 = NpyFile.Read<double>(d);
            var l2 = NpyFile.Read<long>(l);
            CollectionAssert.AreEqual(new[] { 2, 3, 4, 5 }, f2.Shape);
            CollectionAssert.AreEqual(floats, f2.Data);
            CollectionAssert.AreEqual(new[] { 17 }, d2.Shape);
            CollectionAssert.AreEqual(doubles, d2.Data);
            CollectionAssert.AreEqual(new[] { 2, 2 }, l2.Shape);
            CollectionAssert.AreEqual(longs, l2.Data);
            Assert.AreEqual(0, (new FileInfo(f).Length - floats.Length * sizeof(float)) % 64, "data starts 64-byte aligned");

            var empty = Path.Combine(dir.FullName, "e.npy");
            NpyFile.Write(empty, Array.Empty<float>(), 0, 3);
            CollectionAssert.AreEqual(new[] { 0, 3 }, NpyFile.Read<float>(empty).Shape);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [TestMethod]
    public void RejectsFilesItCannotReadWithTheReason()
    {
        AssertRejects<long>(NumpyFloat32Matrix, "'<f4'", "expected '<i8'");
        AssertRejects<float>(NumpyFortranOrder, "Fortran order");
        AssertRejects<float>(NumpyBigEndian, "big-endian");

        var truncated = Convert.FromBase64String(NumpyFloat32Matrix)[..^3];
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read<float>(new MemoryStream(truncated), "x.npy"));
        StringAssert.Contains(ex.Message, "x.npy");
        StringAssert.Contains(ex.Message, "needs 24 data bytes");

        var notNpy = Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read<float>(new MemoryStream("a,b\n1,2\n"u8.ToArray()), "data.csv"));
        StringAssert.Contains(notNpy.Message, "data.csv: not a NumPy .npy file");

        Assert.ThrowsExactly<ArgumentException>(() => new NpyArray<float>(new float[5], [2, 3]));
    }

    private static void AssertWrites<T>(string numpyBase64, NpyArray<T> array) where T : unmanaged
    {
        var stream = new MemoryStream();
        NpyFile.Write(stream, array);
        CollectionAssert.AreEqual(Convert.FromBase64String(numpyBase64), stream.ToArray());
    }

    private static void AssertRejects<T>(string numpyBase64, params string[] messageParts) where T : unmanaged
    {
        var ex = Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read<T>(new MemoryStream(Convert.FromBase64String(numpyBase64)), "in.npy"));
        StringAssert.Contains(ex.Message, "in.npy");
        foreach (var part in messageParts)
            StringAssert.Contains(ex.Message, part);
    }
}
