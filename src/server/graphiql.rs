//! The GraphiQL playground page. Written here rather than taken from
//! async-graphql so that its asset location is configurable: the built-in page
//! always loads from a public CDN and is blank offline.

use axum::extract::State;
use axum::response::Html;

use super::AppState;

const REACT: &str = "react@18.3.1/umd/react.production.min.js";
const REACT_DOM: &str = "react-dom@18.3.1/umd/react-dom.production.min.js";
const GRAPHIQL_JS: &str = "graphiql@3.8.3/graphiql.min.js";
const GRAPHIQL_CSS: &str = "graphiql@3.8.3/graphiql.min.css";

/// Every file the page loads, relative to the assets' base: what a local
/// directory must hold (`scripts/graphiql-assets.sh` fetches these
/// packages).
pub const ASSET_FILES: [&str; 4] = [REACT, REACT_DOM, GRAPHIQL_JS, GRAPHIQL_CSS];

/// Where the gateway serves a local assets directory.
pub const LOCAL_ASSETS_PATH: &str = "/graphiql-assets";

/// The query the page opens with (tests run it: it must answer).
pub const DEFAULT_QUERY: &str = r#"# trade-graph: one graph over Global Trade Alert, UN Comtrade and the
# US International Trade Administration. Press the run button (or Ctrl-Enter);
# the Docs panel explains every type, field and argument.
query CountryProfile {
  jurisdiction(iso3: "BRA") {
    name
    iso2
    comtradeReporterCode
    tradeFlows(periods: ["2022"], flow: EXPORT) { period partnerName value }
    officeLocations { post city phone }
    interventionsAffecting(limit: 5) {
      totalCount
      items { id title evaluation dateAnnounced implementingJurisdictions { iso3 } }
    }
  }
}
"#;

/// How long the page waits for its scripts before showing its help: a
/// CDN a firewall drops packets to never answers, and must not leave the
/// page blank.
pub const ASSETS_WAIT_SECONDS: u32 = 10;

/// The page, with assets loaded from `assets` (unpkg layout). Nothing in
/// it blocks rendering: the stylesheet and scripts are added by a script,
/// in order, so that when they cannot load (no internet, a mirror down) or
/// never answer (a firewall that drops packets), the page says so and how
/// to serve them locally, instead of staying blank.
pub(super) fn page(assets: &str) -> String {
    let trimmed = assets.trim_end_matches('/');
    let base = html_attribute(trimmed);
    let base_js = js_string(trimmed);
    let default_query = js_string(DEFAULT_QUERY);
    let scripts = js_string(&format!("{REACT}|{REACT_DOM}|{GRAPHIQL_JS}"));
    let css = js_string(GRAPHIQL_CSS);
    let wait = ASSETS_WAIT_SECONDS;
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>trade-graph</title>
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }} #graphiql > p, #graphiql > pre {{ font-family: sans-serif; margin: 1em; }}</style>
</head>
<body>
  <div id="graphiql"><p>Loading GraphiQL from {base} ...</p></div>
  <template id="assets-help">
    <p><strong>GraphiQL could not load its scripts</strong> from <code>{base}</code> (<span id="assets-why"></span>).</p>
    <p>Without internet, or behind a firewall, serve them from this gateway: fill a directory from npm and pass it as <code>--graphiql-assets</code>:</p>
    <pre>sh scripts/graphiql-assets.sh ./graphiql-assets
trade-graph --graphiql-assets ./graphiql-assets</pre>
    <p>or point <code>--graphiql-assets</code> (<code>TRADE_GRAPH_GRAPHIQL_ASSETS</code>) at an unpkg-like mirror. The API itself works: POST queries to <code>/graphql</code>.</p>
  </template>
  <script>
    (function () {{
      var base = {base_js};
      var root = document.getElementById('graphiql');
      var done = false;
      function assetsFailed(why) {{
        if (done) return;
        done = true;
        root.innerHTML = document.getElementById('assets-help').innerHTML;
        document.getElementById('assets-why').textContent = why;
        window.assetsMissing = true;
      }}
      // The wait is for progress, not for all of it: a slow mirror that
      // keeps sending is waited for, and scripts arriving after the help
      // was shown still start GraphiQL.
      var timer;
      function wait() {{
        clearTimeout(timer);
        timer = setTimeout(function () {{
          assetsFailed('no script arrived within {wait} s');
        }}, {wait} * 1000);
      }}
      wait();
      // Styles never hold the page: GraphiQL works unstyled meanwhile.
      var style = document.createElement('link');
      style.rel = 'stylesheet';
      style.href = base + '/' + {css};
      document.head.appendChild(style);
      var scripts = {scripts}.split('|');
      function load(index) {{
        if (index === scripts.length) {{
          clearTimeout(timer);
          start();
          return;
        }}
        var script = document.createElement('script');
        script.src = base + '/' + scripts[index];
        script.onload = function () {{ if (!done) wait(); load(index + 1); }};
        script.onerror = function () {{ clearTimeout(timer); assetsFailed(script.src); }};
        document.body.appendChild(script);
      }}
      function start() {{
        if (typeof GraphiQL === 'undefined') {{
          assetsFailed('the scripts loaded but did not define GraphiQL');
          return;
        }}
        done = true;
        window.assetsMissing = false;
        // Queries over HTTP, subscriptions over a WebSocket on the same path.
        var url = new URL('graphql', window.location.href);
        var subscriptionUrl = new URL(url);
        subscriptionUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        var fetcher = GraphiQL.createFetcher({{ url: url.href, subscriptionUrl: subscriptionUrl.href }});
        ReactDOM.createRoot(root).render(
          React.createElement(GraphiQL, {{ fetcher: fetcher, defaultQuery: {default_query} }})
        );
      }}
      load(0);
    }})();
  </script>
</body>
</html>
"#
    )
}

/// `text` as a JavaScript string literal that cannot end the `<script>`
/// element it sits in.
fn js_string(text: &str) -> String {
    serde_json::to_string(text)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c")
}

/// Refuses a local assets directory that lacks a file the page loads,
/// naming what is missing and how to fill it.
pub(super) fn check_directory(directory: &std::path::Path) -> Result<(), String> {
    // A file that is there but cannot be read (permissions) is told apart
    // from one that is missing: the fixes differ.
    let mut missing: Vec<&str> = Vec::new();
    for file in ASSET_FILES.iter().copied() {
        let path = directory.join(file);
        match std::fs::File::open(&path) {
            Ok(_) if path.is_file() => {}
            Ok(_) => missing.push(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => missing.push(file),
            Err(error) => {
                return Err(format!(
                    "--graphiql-assets {}: cannot read {file}: {error} (the gateway's user needs read access to the directory and its files)",
                    directory.display()
                ))
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "--graphiql-assets {} lacks {}: fill it with `sh scripts/graphiql-assets.sh {}`",
        directory.display(),
        missing.join(", "),
        directory.display()
    ))
}

fn html_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub(super) async fn serve(State(state): State<AppState>) -> Html<String> {
    Html(state.graphiql_page.to_string())
}
