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

const DEFAULT_QUERY: &str = r#"# trade-graph: one graph over GTA (and soon Comtrade and ITA).
query CountryProfile {
  jurisdiction(iso3: "BRA") {
    name
    iso2
    comtradeReporterCode
    interventionsAffecting(limit: 5) {
      totalCount
      items { id title evaluation dateAnnounced implementingJurisdictions { iso3 } }
    }
  }
}
"#;

/// The page, with assets loaded from `assets` (unpkg layout).
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
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL from {base} ...</div>
  <script src="{base}/{REACT}"></script>
  <script src="{base}/{REACT_DOM}"></script>
  <script src="{base}/{GRAPHIQL_JS}"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: new URL('graphql', window.location.href).href }});
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {{ fetcher, defaultQuery: {default_query} }})
    );
  </script>
</body>
</html>
"#
    )
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
