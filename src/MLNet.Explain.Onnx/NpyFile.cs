using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNet.Explain.Onnx;

/// <summary>A dense array read from or written to a NumPy <c>.npy</c> file: row-major (C order) data and its shape.</summary>
/// <typeparam name="T"><see cref="float"/>, <see cref="double"/> or <see cref="long"/>.</typeparam>
public sealed class NpyArray<T> where T : unmanaged
{
    public NpyArray(T[] data, int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = NpyFile.ElementCount(shape);
        if (count != data.Length)
            throw new ArgumentException($"Shape ({string.Join(", ", shape)}) holds {count} elements but the data has {data.Length}.", nameof(shape));
        Data = data;
        Shape = shape;
    }

    /// <summary>The elements in C order.</summary>
    public T[] Data { get; }

    /// <summary>The dimensions; empty for a scalar.</summary>
    public int[] Shape { get; }

    /// <summary>Wraps the data (no copy) as an ONNX Runtime tensor of the same shape.</summary>
    public DenseTensor<T> ToDenseTensor() => new(Data, Shape);
}

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format versions 1.0 to 3.0) holding little-endian float32 (<c>&lt;f4</c>),
/// float64 (<c>&lt;f8</c>) or int64 (<c>&lt;i8</c>) arrays in C order: the exchange format of the CLI and of the
/// PyTorch reference values stored with the test models.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    private static readonly Regex DescrPattern = new(@"'descr'\s*:\s*'(?<v>[^']*)'", RegexOptions.CultureInvariant);
    private static readonly Regex FortranPattern = new(@"'fortran_order'\s*:\s*(?<v>True|False)", RegexOptions.CultureInvariant);
    private static readonly Regex ShapePattern = new(@"'shape'\s*:\s*\((?<v>[^)]*)\)", RegexOptions.CultureInvariant);

    /// <summary>Reads an array whose stored element type matches <typeparamref name="T"/> exactly.</summary>
    /// <exception cref="InvalidDataException">The file is not a .npy file, holds another element type, is big-endian or
    /// Fortran-ordered, or is shorter than its header says.</exception>
    public static NpyArray<T> Read<T>(string path) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.OpenRead(path);
        return Read<T>(stream, path);
    }

    /// <summary>Reads an array from a stream; <paramref name="sourceName"/> names it in error messages.</summary>
    public static NpyArray<T> Read<T>(Stream stream, string sourceName = "stream") where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(stream);
        string expected = DescriptorOf<T>();
        var (descr, fortranOrder, shape) = ReadHeader(stream, sourceName);
        if (descr != expected && descr != "=" + expected[1..])
        {
            string why = descr.StartsWith('>') ? "big-endian data is not supported" : $"expected '{expected}' ({typeof(T).Name})";
            throw new InvalidDataException($"{sourceName}: the array holds '{descr}'; {why}.");
        }
        if (fortranOrder)
            throw new InvalidDataException($"{sourceName}: the array is stored in Fortran order; expected C order (save it with numpy.ascontiguousarray).");

        long count = ElementCount(shape);
        if (count > Array.MaxLength)
            throw new InvalidDataException($"{sourceName}: shape ({string.Join(", ", shape)}) has {count} elements, more than one array can hold.");
        var data = new T[count];
        var bytes = MemoryMarshal.AsBytes(data.AsSpan());
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read != bytes.Length)
            throw new InvalidDataException($"{sourceName}: shape ({string.Join(", ", shape)}) needs {bytes.Length} data bytes but the file has {read}.");
        return new NpyArray<T>(data, shape);
    }

    /// <summary>Writes <paramref name="array"/> as a version 1.0 .npy file (C order, little endian).</summary>
    public static void Write<T>(string path, NpyArray<T> array) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = File.Create(path);
        Write(stream, array);
    }

    /// <summary>Writes <paramref name="data"/> with <paramref name="shape"/> as a version 1.0 .npy file.</summary>
    public static void Write<T>(string path, T[] data, params int[] shape) where T : unmanaged
        => Write(path, new NpyArray<T>(data, shape));

    /// <summary>Writes <paramref name="array"/> to a stream in .npy format version 1.0.</summary>
    public static void Write<T>(Stream stream, NpyArray<T> array) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        EnsureLittleEndian();
        string dims = array.Shape.Length == 1
            ? $"{array.Shape[0]},"
            : string.Join(", ", array.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        string dict = $"{{'descr': '{DescriptorOf<T>()}', 'fortran_order': False, 'shape': ({dims}), }}";
        // NumPy pads the header with spaces and a newline so the data starts on a 64-byte boundary.
        int unpadded = Magic.Length + 2 + 2 + dict.Length + 1;
        int headerLength = dict.Length + 1 + (64 - unpadded % 64) % 64;
        if (headerLength > ushort.MaxValue)
            throw new ArgumentException($"An array of rank {array.Shape.Length} has a header too long for .npy format 1.0.", nameof(array));
        var header = new byte[Magic.Length + 4 + headerLength];
        Magic.CopyTo(header, 0);
        header[6] = 1;
        header[7] = 0;
        header[8] = (byte)(headerLength & 0xFF);
        header[9] = (byte)(headerLength >> 8);
        var text = Encoding.ASCII.GetBytes(dict.PadRight(headerLength - 1) + "\n");
        text.CopyTo(header, 10);
        stream.Write(header);
        stream.Write(MemoryMarshal.AsBytes(array.Data.AsSpan()));
    }

    internal static long ElementCount(int[] shape)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Shape ({string.Join(", ", shape)}) has a negative dimension.", nameof(shape));
            count *= d;
        }
        return count;
    }

    private static string DescriptorOf<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return "<f4";
        if (typeof(T) == typeof(double)) return "<f8";
        if (typeof(T) == typeof(long)) return "<i8";
        throw new NotSupportedException($".npy element type {typeof(T).Name} is not supported; use float, double or long.");
    }

    private static (string Descr, bool FortranOrder, int[] Shape) ReadHeader(Stream stream, string sourceName)
    {
        EnsureLittleEndian();
        Span<byte> prefix = stackalloc byte[8];
        if (stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false) != prefix.Length || !prefix[..6].SequenceEqual(Magic))
            throw new InvalidDataException($"{sourceName}: not a NumPy .npy file (missing the \\x93NUMPY magic string).");
        int major = prefix[6];
        if (major is < 1 or > 3)
            throw new InvalidDataException($"{sourceName}: .npy format version {major}.{prefix[7]} is not supported (1.0 to 3.0 are).");

        Span<byte> lengthBytes = stackalloc byte[major == 1 ? 2 : 4];
        if (stream.ReadAtLeast(lengthBytes, lengthBytes.Length, throwOnEndOfStream: false) != lengthBytes.Length)
            throw new InvalidDataException($"{sourceName}: the .npy header is truncated.");
        long headerLength = major == 1
            ? lengthBytes[0] | (lengthBytes[1] << 8)
            : (uint)(lengthBytes[0] | (lengthBytes[1] << 8) | (lengthBytes[2] << 16) | (lengthBytes[3] << 24));
        if (headerLength > 1 << 20)
            throw new InvalidDataException($"{sourceName}: the .npy header claims {headerLength} bytes; that is not a valid header.");
        var headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false) != headerBytes.Length)
            throw new InvalidDataException($"{sourceName}: the .npy header is truncated.");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var descr = DescrPattern.Match(header);
        var fortran = FortranPattern.Match(header);
        var shape = ShapePattern.Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new InvalidDataException($"{sourceName}: the .npy header lacks 'descr', 'fortran_order' or 'shape': {header.Trim()}");
        var dims = shape.Groups["v"].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => int.TryParse(d.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out int v)
                ? v
                : throw new InvalidDataException($"{sourceName}: the .npy shape has a dimension '{d}' that is not a non-negative int32."))
            .ToArray();
        return (descr.Groups["v"].Value, fortran.Groups["v"].Value == "True", dims);
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException(".npy files are read and written only on little-endian machines.");
    }
}
