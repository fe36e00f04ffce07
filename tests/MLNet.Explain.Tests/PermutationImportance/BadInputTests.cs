using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.Explain.Tests.PermutationImportance;

/// <summary>Each kind of bad input fails with an exception that names what is wrong.</summary>
[TestClass]
public sealed class BadInputTests
{
    private static ArgumentException Fails(ITransformer model, IDataView data, PermutationImportanceOptions options)
        => Assert.ThrowsExactly<ArgumentException>(() => new MLContext(seed: 1).Explain().PermutationImportance(options).Fit(model, data));

    [TestMethod]
    public void MissingLabelColumnIsNamed()
    {
        var (data, model) = BreastCancer();
        StringAssert.Contains(Fails(model, data, new() { LabelColumnName = "Diagnosis" }).Message, "Label column 'Diagnosis' is not in the featurized data");
        StringAssert.Contains(Fails(model, data, new() { LabelColumnName = "Diagnosis", Level = ImportanceLevel.Columns }).Message, "Label column 'Diagnosis' is not in the model's output");
    }

    [TestMethod]
    public void MissingFeatureColumnIsNamed()
    {
        var ml = new MLContext(seed: 1);
        var (data, model) = BreastCancer();
        var predictorOnly = ((IEnumerable<ITransformer>)model).Last();
        StringAssert.Contains(Fails(predictorOnly, data, new() { LabelColumnName = "Malignant" }).Message, "no column 'Features'");
        var error = Fails(model, data, new() { LabelColumnName = "Malignant", Level = ImportanceLevel.Columns, Columns = ["MeanRadius", "Radius"] });
        StringAssert.Contains(error.Message, "Column 'Radius' is not in the data");
    }

    [TestMethod]
    public void MissingGroupMembersAreNamed()
    {
        var (data, model) = BreastCancer();
        var slotError = Fails(model, data, new() { LabelColumnName = "Malignant", Groups = new Dictionary<string, string[]> { ["Size"] = ["MeanRadius", "MeanSize"] } });
        StringAssert.Contains(slotError.Message, "Group 'Size' names slot 'MeanSize'");
        var columnError = Fails(model, data, new()
        {
            LabelColumnName = "Malignant", Level = ImportanceLevel.Columns, Groups = new Dictionary<string, string[]> { ["Size"] = ["MeanRadius", "MeanSize"] },
        });
        StringAssert.Contains(columnError.Message, "Column 'MeanSize' of group 'Size' is not in the data");
    }

    [TestMethod]
    public void WrongLabelTypeIsNamed()
    {
        var (data, model) = BreastCancer();
        var ml = new MLContext(seed: 1);
        var textLabel = ml.Transforms.Conversion.ConvertType("Text", "Malignant", DataKind.String).Fit(data).Transform(data);
        var error = Fails(model, textLabel, new() { LabelColumnName = "Text" });
        StringAssert.Contains(error.Message, "Label column 'Text' has type String; BinaryClassification needs Boolean");
    }

    [TestMethod]
    public void EmptyDataIsRejected()
    {
        var (data, model) = BreastCancer();
        var empty = new MLContext(seed: 1).Data.FilterRowsByColumn(data, "MeanRadius", lowerBound: 1e9);
        StringAssert.Contains(Fails(model, empty, new() { LabelColumnName = "Malignant" }).Message, "The data has no rows");
        StringAssert.Contains(Fails(model, empty, new() { LabelColumnName = "Malignant", Level = ImportanceLevel.Columns }).Message, "The data has no rows");
    }

    [TestMethod]
    public void NaNLabelIsReportedWithItsRow()
    {
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 50).Select(i => new Synthetic.Row { Features = Enumerable.Repeat((float)i, Synthetic.FeatureCount).ToArray(), Label = i == 7 ? float.NaN : i }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Regression.Trainers.Sdca().Fit(ml.Data.FilterRowsByMissingValues(data, "Label"));
        StringAssert.Contains(Fails(model, data, new()).Message, "Label column 'Label' has a missing (NaN) value in row 7");
        StringAssert.Contains(Fails(model, data, new() { Level = ImportanceLevel.Columns }).Message, "missing (NaN) value in row 7");
    }

    [TestMethod]
    public void UnknownMetricListsTheKnownOnes()
    {
        var (data, model) = BreastCancer();
        var error = Fails(model, data, new() { LabelColumnName = "Malignant", Metric = "RSquared" });
        StringAssert.Contains(error.Message, "Unknown metric 'RSquared' for BinaryClassification");
        StringAssert.Contains(error.Message, "AreaUnderRocCurve (AUC, AUROC)");
    }

    [TestMethod]
    public void ModelWithoutPredictorIsRejected()
    {
        var ml = new MLContext(seed: 1);
        var (data, features, _) = TestData.BreastCancer(ml);
        var featurizer = ml.Transforms.Concatenate("Features", features).Fit(data);
        StringAssert.Contains(Fails(featurizer, data, new() { LabelColumnName = "Malignant" }).Message, "The model has no predictor");
    }

    [TestMethod]
    public void ProbabilityMetricOnUncalibratedModelIsRejected()
    {
        var ml = new MLContext(seed: 1);
        var data = Synthetic.Binary(ml, 200, seed: 1);
        var model = ml.BinaryClassification.Trainers.LinearSvm().Fit(data);
        StringAssert.Contains(Fails(model, data, new() { Metric = "LogLoss" }).Message, "Metric LogLoss needs probabilities");
    }

    [TestMethod]
    public void InvalidOptionsAreRejectedWhenTheStageIsCreated()
    {
        var ml = new MLContext(seed: 1);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Explain().PermutationImportance(new() { Repeats = 0 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Explain().PermutationImportance(new() { MaxDegreeOfParallelism = 0 }));
        Assert.ThrowsExactly<ArgumentException>(() => ml.Explain().PermutationImportance(new() { Columns = ["A"] }));
    }

    private static (IDataView Data, ITransformer Model) BreastCancer()
    {
        var (data, model, _) = TestData.BreastCancerFastTree(new MLContext(seed: 1), trees: 5);
        return (data, model);
    }
}
