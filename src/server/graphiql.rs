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

/// The page, with assets loaded from `assets` (unpkg layout). When its
/// scripts cannot load (no internet, a mirror down), the page says so and
/// how to serve them locally, instead of staying blank.
pub(super) fn page(assets: &str) -> String {
    let base = html_attribute(assets.trim_end_matches('/'));
    let default_query = serde_json::to_string(DEFAULT_QUERY).unwrap_or_else(|_| "\"\"".into());
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>trade-graph</title>
  <link rel="stylesheet" href="{base}/{GRAPHIQL_CSS}">
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }} #graphiql > p, #graphiql > pre {{ font-family: sans-serif; margin: 1em; }}</style>
  <script>
    function assetsFailed(src) {{
      document.getElementById('graphiql').innerHTML =
        '<p><strong>GraphiQL could not load its scripts</strong> from <code>{base}</code> (' + src + ').</p>' +
        '<p>Without internet, or behind a firewall, serve them from this gateway: fill a directory from npm and pass it as <code>--graphiql-assets</code>:</p>' +
        '<pre>sh scripts/graphiql-assets.sh ./graphiql-assets\ntrade-graph --graphiql-assets ./graphiql-assets</pre>' +
        '<p>or point <code>--graphiql-assets</code> (<code>TRADE_GRAPH_GRAPHIQL_ASSETS</code>) at an unpkg-like mirror. The API itself works: POST queries to <code>/graphql</code>.</p>';
      window.assetsMissing = true;
    }}
  </script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL from {base} ...</div>
  <script src="{base}/{REACT}" onerror="assetsFailed(this.src)"></script>
  <script src="{base}/{REACT_DOM}" onerror="assetsFailed(this.src)"></script>
  <script src="{base}/{GRAPHIQL_JS}" onerror="assetsFailed(this.src)"></script>
  <script>
    if (!window.assetsMissing && typeof GraphiQL !== 'undefined') {{
      // Queries over HTTP, subscriptions over a WebSocket on the same path.
      const url = new URL('graphql', window.location.href);
      const subscriptionUrl = new URL(url);
      subscriptionUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      const fetcher = GraphiQL.createFetcher({{ url: url.href, subscriptionUrl: subscriptionUrl.href }});
      ReactDOM.createRoot(document.getElementById('graphiql')).render(
        React.createElement(GraphiQL, {{ fetcher, defaultQuery: {default_query} }})
      );
    }} else if (!window.assetsMissing) {{
      assetsFailed('the scripts loaded but did not define GraphiQL');
    }}
  </script>
</body>
</html>
"#
    )
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
