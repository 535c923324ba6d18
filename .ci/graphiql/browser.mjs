// Loads trade-graph's GraphiQL page in headless Chromium with every route
// outside 127.0.0.1 refused (a machine without internet), runs the default
// query (or a subscription) and reports what the page showed, as JSON for
// tests/graphiql_browser.rs.
//
//     node browser.mjs http://127.0.0.1:8080/ [expect-result|expect-help|expect-help-hang|expect-subscription]
//
// expect-help-hang: routes outside 127.0.0.1 never answer (a firewall that
// drops packets) rather than fail at once.
//
// Waits are on what the page shows; their bounds (two minutes) are only
// there so that a broken page fails rather than hangs, whatever the
// machine's load.
import { chromium } from "playwright-core";

const [url, expectation] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const refused = [];
try {
  const page = await browser.newPage();
  await page.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === "127.0.0.1") return route.continue();
    refused.push(route.request().url());
    // Never answered: the request hangs, as behind a dropping firewall.
    if (expectation === "expect-help-hang") return new Promise(() => {});
    return route.abort("internetdisconnected");
  });
  const bound = { timeout: 120000 };
  // The page adds its scripts itself; "load" would wait for a hung one.
  await page.goto(url, { waitUntil: "domcontentloaded", ...bound });
  let shown;
  if (expectation === "expect-help" || expectation === "expect-help-hang") {
    await page.waitForSelector("text=GraphiQL could not load its scripts", bound);
    shown = await page.textContent("#graphiql");
  } else if (expectation === "expect-subscription") {
    await page.waitForSelector(".graphiql-execute-button", bound);
    // The query editor is CodeMirror 5: its element holds the editor.
    await page.evaluate(() => {
      document
        .querySelector(".graphiql-query-editor .CodeMirror")
        .CodeMirror.setValue("subscription { newInterventions { id title } }");
    });
    // GraphiQL re-reads the edited document after a debounce: a click
    // before it still runs the old one, over HTTP (SUBSCRIPTION_NEEDS_WEBSOCKET).
    // Click again until the subscription itself answers.
    for (let attempt = 0; ; attempt++) {
      await page.click(".graphiql-execute-button");
      await page.waitForFunction(
        () => /"id": \d+|SUBSCRIPTION_NEEDS_WEBSOCKET/.test(document.querySelector(".result-window")?.textContent ?? ""),
        null,
        bound,
      );
      const text = await page.textContent(".result-window");
      if (/"id": \d+/.test(text) || attempt >= 20) break;
    }
    shown = await page.textContent(".result-window");
  } else {
    await page.waitForSelector(".graphiql-execute-button", bound);
    await page.click(".graphiql-execute-button");
    await page.waitForFunction(
      () => document.querySelector(".result-window")?.textContent.includes("Brazil"),
      null,
      bound,
    );
    shown = await page.textContent(".result-window");
  }
  console.log(JSON.stringify({ shown, refused }));
} finally {
  await browser.close();
}
