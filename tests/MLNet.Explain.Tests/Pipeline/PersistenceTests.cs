using System.IO.Compression;
using System.Reflection;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.Explain.Pipeline;
using MLNet.Explain.Pipeline.Persistence;

namespace MLNet.Explain.Tests.Pipeline;

/// <summary>
/// Saving and loading models that contain explanation stages with ML.NET's own <c>mlContext.Model.Save/Load</c>,
/// checked with the test stage <see cref="ScaledFeaturesStage"/>.
/// </summary>
[TestClass]
public sealed class PersistenceTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void SavedStageLoadsInAFreshMLContextWithIdenticalOutputs()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, label) = TestData.BreastCancer(ml);
        var fitted = ml.Transforms.Concatenate("Features", features)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: label, numberOfTrees: 10))
            .Append(new ScaledFeaturesStage(2.5f))
            .Fit(data);

        var loaded = SaveAndLoad(fitted, data.Schema, out var loadedSchema);

        var stage = Assert.IsInstanceOfType<ScaledFeaturesTransformer>(loaded);
        Assert.AreEqual(2.5f, stage.Factor);
        Assert.AreEqual(data.Schema.Count, loadedSchema.Count, "ML.NET keeps the input schema");
        AssertSameOutput(fitted.Transform(data), loaded.Transform(data));
        CollectionAssert.AreEqual(features, SlotNamesOf(loaded.Transform(data).Schema["Scaled"]), "slot names survive");
    }

    [TestMethod]
    public void StageInsideLongerChainsRoundTrips()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, features) = TestData.BreastCancerFastTree(ml, trees: 5);
        var stage = new ScaledFeaturesStage(-1f).Fit(model, data);

        // The stage in the middle of a chain, with transformers before and after it.
        var before = ml.Transforms.CopyColumns("FirstFeature", features[0]).Fit(data);
        var afterInput = stage.Transform(before.Transform(data));
        var after = ml.Transforms.Concatenate("ScaledAndScore", "Scaled", "Score").Fit(afterInput);
        var chain = before.Append(stage).Append(after);

        var loaded = SaveAndLoad(chain, data.Schema, out _);

        var loadedChain = Assert.IsInstanceOfType<TransformerChain<ITransformer>>(loaded);
        Assert.IsInstanceOfType<ScaledFeaturesTransformer>(loadedChain.ElementAt(1));
        var expected = chain.Transform(data);
        var actual = loaded.Transform(data);
        AssertSameOutput(expected, actual);
        CollectionAssert.AreEqual(features, SlotNamesOf(actual.Schema["Scaled"]));
    }

    [TestMethod]
    public void LoadedStageServesPredictionEngine()
    {
        var ml = new MLContext(seed: 1);
        var rows = File.ReadLines(TestData.PathOf("breast_cancer.csv")).Skip(1).Take(50).Select(line => line.Split(','))
            .Select(cells => new Input { Features = cells[..^1].Select(float.Parse).ToArray(), Label = bool.Parse(cells[^1]) })
            .ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 5, minimumExampleCountPerLeaf: 2).Fit(data);
        var fitted = new ScaledFeaturesStage(3f).Fit(model, data);

        var freshContext = new MLContext(seed: 7);
        var loaded = SaveAndLoad(fitted, data.Schema, out _, freshContext);
        var original = ml.Model.CreatePredictionEngine<Input, Output>(fitted).Predict(rows[3]);
        var reloaded = freshContext.Model.CreatePredictionEngine<Input, Output>(loaded).Predict(rows[3]);

        Assert.AreEqual(original.Score, reloaded.Score);
        CollectionAssert.AreEqual(rows[3].Features.Select(v => 3 * v).ToArray(), reloaded.Scaled);
    }

    [TestMethod]
    public void BridgeTargetsExistInTheShippedMlNetVersion()
    {
        Assert.AreEqual(MlNetModelBridge.ExpectedMlNetVersion, MlNetModelBridge.LoadedMlNetVersion,
            "ML.NET was upgraded: check every member MlNetModelBridge reflects on against the new version, then update ExpectedMlNetVersion.");
        var targets = MlNetModelBridge.VerifyTargets();
        foreach (var expected in new[]
        {
            "type Microsoft.ML.VersionInfo", "type Microsoft.ML.ModelLoadContext", "type Microsoft.ML.SignatureLoadModel",
            "type Microsoft.ML.LoadableClassAttribute", "constructor VersionInfo(", "constructor LoadableClassAttribute(",
            "field BinaryWriter ModelSaveContext.Writer", "property Boolean ModelSaveContext.InRepository",
            "method ModelSaveContext.CheckAtModel()", "method ModelSaveContext.SetVersionInfo(VersionInfo)",
            "generic method ModelSaveContext.SaveModel<ITransformer>", "field BinaryReader ModelLoadContext.Reader",
            "method ModelLoadContext.CheckAtModel(VersionInfo)", "generic method ModelLoadContext.LoadModel<ITransformer, SignatureLoadModel>",
        })
            Assert.IsTrue(targets.Any(t => t.StartsWith(expected, StringComparison.Ordinal)), $"pinned target '{expected}' resolved; resolved: {string.Join("; ", targets)}");
    }

    [TestMethod]
    public void MlNetLoadsStagesThroughTheShippedLoaderAssembly()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 2);
        SaveAndLoad(new ScaledFeaturesStage(1f).Fit(model, data), data.Schema, out _);

        var loader = AppDomain.CurrentDomain.GetAssemblies().Single(a => a.GetName().Name == MlNetModelBridge.LoaderAssemblyName);
        Assert.IsFalse(loader.IsDynamic, "ML.NET found MLNet.Explain.ModelLoader.dll by name, as in a process that never ran MLNet.Explain code");
        Assert.AreSame(MlNetModelBridge.ShippedLoaderType.Assembly, loader);
    }

    [TestMethod]
    public void ShippedLoaderAssemblyMatchesTheBridgesDefinition()
    {
        var shipped = MlNetModelBridge.ShippedLoaderType.Assembly;
        var emitted = MlNetModelBridge.EmitLoaderAssembly();
        Assert.AreEqual(emitted.FullName, shipped.FullName);
        var description = DescribeLoader(shipped);
        Assert.IsTrue(description.Any(d => d.Contains(MlNetModelBridge.LoaderSignature, StringComparison.Ordinal)), string.Join("\n", description));
        StringAssert.Contains(description[^1], nameof(MlNetModelBridge.CreateStage));
        CollectionAssert.AreEqual(DescribeLoader(emitted), DescribeLoader(shipped),
            "regenerate src/MLNet.Explain/ModelLoader with tools/ModelLoaderGenerator after changing the loader definition");
    }

    [TestMethod]
    public void InMemoryLoaderAssemblyLoadsStages()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 2);
        var fitted = new ScaledFeaturesStage(4f).Fit(model, data);
        var path = NewModelPath();
        ml.Model.Save(fitted, data.Schema, path);

        // Registered first under the same assembly name, the in-memory loader is the one this MLContext uses: ML.NET
        // skips registering an assembly whose name it has registered already (as when the file is not deployed).
        var fresh = new MLContext(seed: 2);
        fresh.ComponentCatalog.RegisterAssembly(MlNetModelBridge.EmitLoaderAssembly());
        var loaded = fresh.Model.Load(path, out _);

        Assert.AreEqual(4f, Assert.IsInstanceOfType<ScaledFeaturesTransformer>(loaded).Factor);
        AssertSameOutput(fitted.Transform(data), loaded.Transform(data));
    }

    /// <summary>What ML.NET sees of a loader assembly: its attributes, the Create signature and the method Create calls.</summary>
    private static List<string> DescribeLoader(Assembly loader)
    {
        var description = loader.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name is "LoadableClassAttribute" or "IgnoresAccessChecksToAttribute")
            .Select(a => $"{a.AttributeType.FullName}({string.Join(", ", a.ConstructorArguments.Select(DescribeArgument))})")
            .Order(StringComparer.Ordinal)
            .ToList();
        var create = loader.GetType(MlNetModelBridge.LoaderTypeName, throwOnError: true)!.GetMethod("Create")!;
        description.Add($"{create.ReturnType.FullName} Create({string.Join(", ", create.GetParameters().Select(p => p.ParameterType.FullName))})");
        var il = create.GetMethodBody()!.GetILAsByteArray()!;
        int call = Array.IndexOf(il, (byte)0x28); // call <method token>
        description.Add(create.Module.ResolveMethod(BitConverter.ToInt32(il, call + 1))!.ToString()!);
        return description;
    }

    private static string DescribeArgument(CustomAttributeTypedArgument argument)
        => argument.Value switch
        {
            Type type => type.FullName!,
            IEnumerable<CustomAttributeTypedArgument> items => $"[{string.Join(", ", items.Select(DescribeArgument))}]",
            var value => value?.ToString() ?? "null",
        };

    [TestMethod]
    public void MissingMlNetMemberIsNamedWithTheExpectedVersion()
    {
        var resolver = new MlNetModelBridge.Resolver(typeof(ModelSaveContext).Assembly);
        var missingType = resolver.Type("Microsoft.ML.NoSuchContext", "a renamed internal type");
        resolver.Method(typeof(ModelSaveContext), "NoSuchMethod", []);
        resolver.Field(missingType, "Writer", typeof(BinaryWriter));

        var error = Assert.ThrowsExactly<MissingMemberException>(resolver.ThrowIfAnyMissing);
        StringAssert.Contains(error.Message, "type Microsoft.ML.NoSuchContext");
        StringAssert.Contains(error.Message, "method ModelSaveContext.NoSuchMethod()");
        StringAssert.Contains(error.Message, "field BinaryWriter <missing type>.Writer");
        StringAssert.Contains(error.Message, $"Microsoft.ML {MlNetModelBridge.ExpectedMlNetVersion}");
    }

    [TestMethod]
    public void UnknownStageNameFailsWithTheNameAndTheRegisteredStages()
    {
        var path = SavedTestStage();
        ReplaceInModelFile(path, ScaledFeaturesTransformer.StageName, ScaledFeaturesTransformer.StageName[..^1] + "Z");

        var error = LoadError(path);
        Assert.IsInstanceOfType<InvalidDataException>(error);
        StringAssert.Contains(error.Message, "'MLNet.Explain.Tests.ScaledFeatureZ'");
        StringAssert.Contains(error.Message, ScaledFeaturesTransformer.StageName, "lists the registered stages");
    }

    [TestMethod]
    public void CorruptStageStateFailsClearly()
    {
        var path = SavedTestStage();
        // The slot-name count that follows the feature column name (length-prefixed, as BinaryWriter writes it).
        var marker = Encoding.UTF8.GetBytes("\u0008Features");
        ReplaceInModelFile(path, bytes =>
        {
            int at = IndexOf(bytes, marker) + marker.Length;
            BitConverter.GetBytes(1_000_000).CopyTo(bytes, at);
        });

        var error = LoadError(path);
        Assert.IsInstanceOfType<InvalidDataException>(error);
        StringAssert.Contains(error.Message, "declares 1000000 items");
    }

    [TestMethod]
    public void StageWithoutRegisteredLoaderCannotBeSaved()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 2);
        var error = Assert.ThrowsExactly<InvalidOperationException>(
            () => ml.Model.Save(new UnregisteredStage(model), data.Schema, NewModelPath()));
        StringAssert.Contains(error.Message, nameof(UnregisteredStage));
        StringAssert.Contains(error.Message, nameof(ExplanationStageRegistry.Register));
    }

    [TestMethod]
    public void StageNameBelongsToOneType()
    {
        var error = Assert.ThrowsExactly<InvalidOperationException>(
            () => ExplanationStageRegistry.Register<UnregisteredStage>(ScaledFeaturesTransformer.StageName, (model, _) => new UnregisteredStage(model)));
        StringAssert.Contains(error.Message, nameof(ScaledFeaturesTransformer));
    }

    private string SavedTestStage()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, _) = TestData.BreastCancerFastTree(ml, trees: 2);
        var path = NewModelPath();
        ml.Model.Save(new ScaledFeaturesStage(2f).Fit(model, data), data.Schema, path);
        return path;
    }

    private ITransformer SaveAndLoad(ITransformer model, DataViewSchema schema, out DataViewSchema loadedSchema, MLContext? loadContext = null)
    {
        var path = NewModelPath();
        new MLContext(seed: 1).Model.Save(model, schema, path);
        return (loadContext ?? new MLContext(seed: 5)).Model.Load(path, out loadedSchema);
    }

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mlnet-explain-tests", Guid.NewGuid().ToString("N"));

    [TestCleanup]
    public void DeleteModelFiles()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    private string NewModelPath()
    {
        Directory.CreateDirectory(_directory);
        return Path.Combine(_directory, $"{TestContext.TestName}-{Guid.NewGuid():N}.zip");
    }

    /// <summary>The error a user sees from <c>mlContext.Model.Load</c>, without ML.NET's reflection wrappers.</summary>
    private static Exception LoadError(string path)
    {
        try
        {
            new MLContext().Model.Load(path, out _);
        }
        catch (Exception e)
        {
            while (e is TargetInvocationException { InnerException: { } inner })
                e = inner;
            return e;
        }
        Assert.Fail("loading the damaged model succeeded");
        return null!;
    }

    private static void ReplaceInModelFile(string path, string find, string replacement)
    {
        Assert.AreEqual(find.Length, replacement.Length);
        ReplaceInModelFile(path, bytes =>
        {
            var target = Encoding.UTF8.GetBytes(find);
            Encoding.UTF8.GetBytes(replacement).CopyTo(bytes, IndexOf(bytes, target));
        });
    }

    /// <summary>Edits the main stream of the saved stage (the zip entry that holds the stage's name).</summary>
    private static void ReplaceInModelFile(string path, Action<byte[]> edit)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
        var stageName = Encoding.UTF8.GetBytes(ScaledFeaturesTransformer.StageName);
        foreach (var entry in zip.Entries.ToList())
        {
            byte[] bytes;
            using (var stream = entry.Open())
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                bytes = copy.ToArray();
            }
            if (bytes.AsSpan().IndexOf(stageName) < 0) continue;
            edit(bytes);
            var name = entry.FullName;
            entry.Delete();
            using var replaced = zip.CreateEntry(name).Open();
            replaced.Write(bytes);
            return;
        }
        Assert.Fail("no entry of the saved model holds the stage");
    }

    private static int IndexOf(byte[] bytes, byte[] pattern)
    {
        int at = bytes.AsSpan().IndexOf(pattern);
        Assert.IsTrue(at >= 0, $"'{Encoding.UTF8.GetString(pattern)}' is in the saved stage");
        return at;
    }

    private static string[] SlotNamesOf(DataViewSchema.Column column)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.Annotations.GetValue(SlotNames.SlotNamesKind, ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }

    /// <summary>Same visible columns with the same types, and the same values in every row.</summary>
    private static void AssertSameOutput(IDataView expected, IDataView actual)
    {
        var columns = expected.Schema.Where(c => !c.IsHidden).ToList();
        CollectionAssert.AreEqual(columns.Select(c => c.Name).ToList(), actual.Schema.Where(c => !c.IsHidden).Select(c => c.Name).ToList());
        foreach (var column in columns)
            Assert.AreEqual(column.Type, actual.Schema[column.Name].Type, $"type of '{column.Name}'");

        using var expectedCursor = expected.GetRowCursor(columns);
        var actualColumns = columns.Select(c => actual.Schema[c.Name]).ToList();
        using var actualCursor = actual.GetRowCursor(actualColumns);
        var expectedReaders = columns.Select(c => RowValues.CreateReader(expectedCursor, c)).ToList();
        var actualReaders = actualColumns.Select(c => RowValues.CreateReader(actualCursor, c)).ToList();
        int rows = 0;
        while (expectedCursor.MoveNext())
        {
            Assert.IsTrue(actualCursor.MoveNext(), $"loaded model returned only {rows} rows");
            for (int c = 0; c < columns.Count; c++)
                Assert.IsTrue(PlainValueComparer.Instance.Equals(expectedReaders[c](), actualReaders[c]()), $"row {rows}, column '{columns[c].Name}'");
            rows++;
        }
        Assert.IsFalse(actualCursor.MoveNext(), "loaded model returned extra rows");
        Assert.IsTrue(rows > 0);
    }

    private sealed class UnregisteredStage(ITransformer model) : ExplanationTransformer(model)
    {
        protected override RowExplainer? RowExplainer => null;

        protected override void SaveState(BinaryWriter writer) { }
    }

    private sealed class Input
    {
        [VectorType(30)]
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private sealed class Output
    {
        public float Score { get; set; }

        public float[] Scaled { get; set; } = [];
    }
}
