using MLNet.Explain.Report;

namespace MLNet.Explain.Tests.Report;

[TestClass]
public sealed class MarkupTests
{
    [TestMethod]
    public void EscapeNeutralizesEveryMarkupCharacter()
    {
        Assert.AreEqual("&lt;script&gt;alert(1)&lt;/script&gt;", Markup.Escape("<script>alert(1)</script>"));
        Assert.AreEqual("&quot;&#39;&amp;amp;", Markup.Escape("\"'&amp;"));
        Assert.AreEqual("", Markup.Escape(null));
    }

    [TestMethod]
    public void EscapeKeepsTextValidXml()
    {
        Assert.AreEqual("a\uFFFDb\uFFFDc", Markup.Escape("a\u0000b\u001Fc"), "control characters XML forbids are replaced");
        Assert.AreEqual("tab\tnew\nline", Markup.Escape("tab\tnew\nline"));
        Assert.AreEqual("😀 ü", Markup.Escape("😀 ü"), "surrogate pairs and accents pass");
        Assert.AreEqual("x\uFFFD", Markup.Escape("x\uD800"), "a lone surrogate is replaced");
    }

    [TestMethod]
    public void NumbersUseFourSignificantDigitsInTheInvariantCulture()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.AreEqual("0.1235", Markup.Number(0.123456));
            Assert.AreEqual("1235", Markup.Number(1234.56));
            Assert.AreEqual("−2.5", Markup.Number(-2.5));
            Assert.AreEqual("1.235e+7", Markup.Number(12345678));
            Assert.AreEqual("1e−5", Markup.Number(0.00001));
            Assert.AreEqual("NaN", Markup.Number(double.NaN));
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [TestMethod]
    public void TruncateEndsWithAnEllipsis()
    {
        Assert.AreEqual("abcd…", Markup.Truncate("abcdefgh", 5));
        Assert.AreEqual("abc", Markup.Truncate("abc", 5));
    }
}
