namespace MLNet.Explain.Pipeline.Persistence;

/// <summary>
/// Writing and reading the values stages typically save in <see cref="ExplanationTransformer.SaveState"/>: names
/// (column and slot names) and float vectors, each with its length first.
/// </summary>
public static class StateSerialization
{
    public static void WriteStrings(this BinaryWriter writer, IReadOnlyCollection<string> values)
    {
        writer.Write(values.Count);
        foreach (var value in values)
            writer.Write(value);
    }

    public static string[] ReadStrings(this BinaryReader reader)
    {
        var values = new string[ReadLength(reader, "string list")];
        for (int i = 0; i < values.Length; i++)
            values[i] = reader.ReadString();
        return values;
    }

    public static void WriteFloats(this BinaryWriter writer, IReadOnlyCollection<float> values)
    {
        writer.Write(values.Count);
        foreach (var value in values)
            writer.Write(value);
    }

    public static float[] ReadFloats(this BinaryReader reader)
    {
        var values = new float[ReadLength(reader, "float vector")];
        for (int i = 0; i < values.Length; i++)
            values[i] = reader.ReadSingle();
        return values;
    }

    public static void WriteDoubles(this BinaryWriter writer, IReadOnlyCollection<double> values)
    {
        writer.Write(values.Count);
        foreach (var value in values)
            writer.Write(value);
    }

    public static double[] ReadDoubles(this BinaryReader reader)
    {
        var values = new double[ReadLength(reader, "double vector")];
        for (int i = 0; i < values.Length; i++)
            values[i] = reader.ReadDouble();
        return values;
    }

    // A corrupt length must fail as corrupt data, not as an attempt to allocate gigabytes.
    private static int ReadLength(BinaryReader reader, string what)
    {
        int length = reader.ReadInt32();
        long remaining = reader.BaseStream.CanSeek ? reader.BaseStream.Length - reader.BaseStream.Position : long.MaxValue;
        if (length < 0 || length > remaining)
            throw new InvalidDataException($"A saved {what} declares {length} items but {Math.Max(remaining, 0)} bytes remain; the saved state is corrupt.");
        return length;
    }
}
