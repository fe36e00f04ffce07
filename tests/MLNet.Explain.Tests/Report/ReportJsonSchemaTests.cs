using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;

namespace MLNet.Explain.Tests.Report;

/// <summary>explanations.json follows the schema documented in docs/report.schema.json (and docs/report.md).</summary>
[TestClass]
public sealed class ReportJsonSchemaTests
{
    private static readonly string SchemaPath = Path.Combine(AppContext.BaseDirectory, "docs", "report.schema.json");

    [TestMethod]
    public void ReportsWithEverySectionFollowTheDocumentedSchema()
    {
        var schema = JsonSchemaValidator.Load(SchemaPath);
        var ml = new MLContext(seed: 1);
        foreach (var report in new[] { ReportFixtures.BreastCancerFastTree(ml, [0, 5]), ReportFixtures.BreastCancerLinear(ml, [0, 5]), ReportFixtures.Injection(ml) })
        {
            using var json = JsonDocument.Parse(report.ToJson());
            var errors = schema.Validate(json.RootElement);
            Assert.AreEqual(0, errors.Count, string.Join("\n", errors.Take(20)));
            Assert.IsTrue(json.RootElement.GetProperty("rows")[0].GetProperty("shap").ValueKind == JsonValueKind.Object, "the filled sections were checked");
        }
    }

    [TestMethod]
    public void AReportWithoutExplanationsFollowsTheSchemaToo()
    {
        var ml = new MLContext(seed: 1);
        var (data, model, label) = ReportTestModels.BreastCancerLinear(ml);
        var report = new MLNet.Explain.Report.ExplanationReportBuilder(ml, model, data, new() { LabelColumn = label, Rows = [1] }).Build();
        using var json = JsonDocument.Parse(report.ToJson());
        var errors = JsonSchemaValidator.Load(SchemaPath).Validate(json.RootElement);
        Assert.AreEqual(0, errors.Count, string.Join("\n", errors));
        Assert.AreEqual(JsonValueKind.Null, json.RootElement.GetProperty("quality").GetProperty("shapAdditivity").ValueKind);
    }

    [TestMethod]
    public void TheValidatorCatchesMissingFieldsWrongTypesAndUndocumentedFields()
    {
        var schema = JsonSchemaValidator.Load(SchemaPath);
        var ml = new MLContext(seed: 1);
        var original = JsonNode.Parse(ReportFixtures.BreastCancerLinear(ml, [0]).ToJson())!;

        var missing = original.DeepClone();
        missing.AsObject().Remove("rows");
        CollectionAssert.Contains(Validate(schema, missing).ToList(), "$: missing required property 'rows'");

        var wrongType = original.DeepClone();
        wrongType["data"]!["rowCount"] = "569";
        Assert.IsTrue(Validate(schema, wrongType).Any(e => e.StartsWith("$.data.rowCount: expected", StringComparison.Ordinal)));

        var undocumented = original.DeepClone();
        undocumented["rows"]![0]!["shap"]!["extra"] = 1;
        CollectionAssert.Contains(Validate(schema, undocumented).ToList(), "$.rows[0].shap: property 'extra' is not in the schema");

        var badEnum = original.DeepClone();
        badEnum["model"]!["task"] = "clustering";
        Assert.IsTrue(Validate(schema, badEnum).Any(e => e.StartsWith("$.model.task:", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void NonFiniteNumbersAreWrittenAsNull()
    {
        var document = ReportFixtures.BreastCancerLinear(new MLContext(seed: 1), [0]).Document;
        var withNaN = document with { Metrics = document.Metrics with { Values = [new MLNet.Explain.Report.Metric("LogLoss", double.PositiveInfinity, false)] } };
        using var json = JsonDocument.Parse(MLNet.Explain.Report.ReportJson.Serialize(withNaN));
        Assert.AreEqual(JsonValueKind.Null, json.RootElement.GetProperty("metrics").GetProperty("values")[0].GetProperty("value").ValueKind);
        Assert.AreEqual(0, JsonSchemaValidator.Load(SchemaPath).Validate(json.RootElement).Count);
    }

    private static IReadOnlyList<string> Validate(JsonSchemaValidator schema, JsonNode node)
    {
        using var document = JsonDocument.Parse(node.ToJsonString());
        return schema.Validate(document.RootElement);
    }
}
