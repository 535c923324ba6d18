// Loads trade-graph's GraphiQL page in headless Chromium with every route
// outside 127.0.0.1 refused (a machine without internet), runs the default
// query (or a subscription) and reports what the page showed, as JSON for
// tests/graphiql_browser.rs.
//
//     node browser.mjs http://127.0.0.1:8080/ [expect-result|expect-help|expect-subscription]
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
    return route.abort("internetdisconnected");
  });
  await page.goto(url, { waitUntil: "load" });
  let shown;
  if (expectation === "expect-help") {
    await page.waitForSelector("text=GraphiQL could not load its scripts", { timeout: 20000 });
    shown = await page.textContent("#graphiql");
  } else if (expectation === "expect-subscription") {
    await page.waitForSelector(".graphiql-execute-button", { timeout: 20000 });
    // The query editor is CodeMirror 5: its element holds the editor.
    await page.evaluate(() => {
      document
        .querySelector(".graphiql-query-editor .CodeMirror")
        .CodeMirror.setValue("subscription { newInterventions { id title } }");
    });
    await page.click(".graphiql-execute-button");
    await page.waitForFunction(
      () => /"id": \d+/.test(document.querySelector(".result-window")?.textContent ?? ""),
      null,
      { timeout: 20000 },
    );
    shown = await page.textContent(".result-window");
  } else {
    await page.waitForSelector(".graphiql-execute-button", { timeout: 20000 });
    await page.click(".graphiql-execute-button");
    await page.waitForFunction(
      () => document.querySelector(".result-window")?.textContent.includes("Brazil"),
      null,
      { timeout: 20000 },
    );
    shown = await page.textContent(".result-window");
  }
  console.log(JSON.stringify({ shown, refused }));
} finally {
  await browser.close();
}
