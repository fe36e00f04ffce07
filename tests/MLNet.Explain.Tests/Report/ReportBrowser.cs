using Microsoft.Playwright;

namespace MLNet.Explain.Tests.Report;

/// <summary>
/// Opens a report in Debian's headless Chromium through Playwright and records what the page did: console errors,
/// uncaught exceptions, dialogs (alert/confirm/prompt) and every request it made. Playwright's own browser download is
/// never used: the browser is the system one, given by path.
/// </summary>
internal sealed class ReportBrowser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ];

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private ReportBrowser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    /// <summary>Null when Chromium is installed; otherwise why the browser tests cannot run here.</summary>
    public static string? WhyUnavailable()
        => File.Exists(ChromiumPath)
            ? null
            : $"Skipped: no Chromium at {ChromiumPath}. Install Debian's 'chromium' package (apt-get install chromium; .ci/run does this when run as root) to run the browser tests of the HTML report.";

    public static async Task<ReportBrowser> LaunchAsync()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        });
        return new ReportBrowser(playwright, browser);
    }

    /// <summary>Loads <paramref name="htmlPath"/> and waits until the page and everything it asked for have loaded.</summary>
    public async Task<PageVisit> OpenAsync(string htmlPath)
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        var visit = new PageVisit(page);
        page.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning") visit.ConsoleErrors.Add($"{message.Type}: {message.Text}");
        };
        page.PageError += (_, error) => visit.ConsoleErrors.Add($"uncaught: {error}");
        page.Dialog += async (_, dialog) =>
        {
            visit.Dialogs.Add($"{dialog.Type}: {dialog.Message}");
            await dialog.DismissAsync();
        };
        page.Request += (_, request) => visit.Requests.Add(request.Url);
        // Anything other than the report itself is recorded and refused, so a test never reaches the network.
        var pageUrl = new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri;
        await page.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url == pageUrl) await route.ContinueAsync();
            else await route.AbortAsync();
        });
        await page.GotoAsync(pageUrl, new PageGotoOptions { WaitUntil = WaitUntilState.NetworkIdle });
        visit.PageUrl = pageUrl;
        return visit;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}

/// <summary>What a page did while it was open.</summary>
internal sealed class PageVisit(IPage page)
{
    public IPage Page { get; } = page;
    public string PageUrl { get; set; } = "";
    public List<string> ConsoleErrors { get; } = [];
    public List<string> Dialogs { get; } = [];
    public List<string> Requests { get; } = [];

    /// <summary>Requests other than loading the report itself.</summary>
    public IEnumerable<string> OtherRequests => Requests.Where(url => url != PageUrl);

    /// <summary>Width and height, as laid out, of every chart (inline SVG) in the page.</summary>
    public async Task<IReadOnlyList<(string Id, double Width, double Height)>> ChartBoxesAsync()
    {
        var boxes = new List<(string, double, double)>();
        foreach (var figure in await Page.QuerySelectorAllAsync("figure"))
        {
            var id = await figure.GetAttributeAsync("id") ?? "";
            var svg = await figure.QuerySelectorAsync("svg");
            var box = svg is null ? null : await svg.BoundingBoxAsync();
            boxes.Add((id, box?.Width ?? 0, box?.Height ?? 0));
        }
        return boxes;
    }
}
