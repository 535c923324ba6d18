//! Settings that parse one by one but cannot work together, or that would
//! surprise an operator: refused with what to do, or warned about at start.
//!
//! clap checks each value alone; these look across values (a source's
//! timeout against the operation deadline, `--replicas` without Redis, a
//! host that serves another API generation than the one chosen) and at the
//! environment (a misspelled `TRADE_GRAPH_*` variable would otherwise be
//! ignored without a word).

use std::time::Duration;

use clap::CommandFactory;

use super::{ComtradeApi, Config};
use crate::sources::ita::ItaApi;

/// What [`check`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// Settings that cannot work: the process does not start.
    pub refusals: Vec<String>,
    /// Settings that work but probably not as meant: logged at start.
    pub warnings: Vec<String>,
}

/// Variables read outside clap: not misspellings of a flag's variable.
const OTHER_VARIABLES: &[&str] = &["TRADE_GRAPH_FIXTURES"];
/// Prefixes of variables the test suites read.
const TEST_VARIABLE_PREFIX: &str = "TRADE_GRAPH_TEST_";

/// Checks `config` as a whole, and the names of the `TRADE_GRAPH_*`
/// variables in `environment`.
pub fn check<'a>(config: &Config, environment: impl IntoIterator<Item = &'a str>) -> Findings {
    let mut findings = Findings::default();
    if config.replicas > 1 && config.redis_url.is_none() {
        findings.refusals.push(format!(
            "--replicas {} has no effect without --redis-url: replicas share budgets and pacing through Redis, and --replicas says how to split them while Redis is unreachable. Set --redis-url, or leave --replicas at 1 for a single process",
            config.replicas
        ));
    }
    endpoint_urls(config, &mut findings);
    dialect_hosts(config, &mut findings);
    timeouts(config, &mut findings);
    retries_and_budgets(config, &mut findings);
    for range in &config.resilience.trusted_proxies {
        if range.prefix_len() == 0 {
            findings.warnings.push(format!(
                "--trusted-proxies {range} trusts every address: any client can then name itself in X-Forwarded-For and take another client's budget share. List your load balancers' addresses or networks instead"
            ));
        }
    }
    for (flag, key) in [
        ("--gta-key", config.gta.key.as_ref()),
        ("--comtrade-key", config.comtrade.key.as_ref()),
        ("--ita-key", config.ita.key.as_ref()),
    ] {
        let length = key.map_or(0, crate::sources::http::Secret::len);
        if (1..crate::sources::scrub::MIN_SCRUBBED_KEY).contains(&length) {
            findings.warnings.push(format!(
                "{flag} is {length} characters long: a key that short cannot be told apart from data, so it is not removed from upstream answers and errors (it would take the same letters out of every answer). Real keys are 32 characters or more; check the value"
            ));
        }
    }
    unknown_variables(environment, &mut findings);
    findings
}

/// Retry settings that cannot mean what they say, and a budget window
/// without the budget it belongs to (issue 23's attack: each started
/// without a word).
fn retries_and_budgets(config: &Config, findings: &mut Findings) {
    let resilience = &config.resilience;
    let ratio = resilience.retry_budget_ratio;
    if !(ratio.is_finite() && ratio >= 0.0) {
        findings.refusals.push(format!(
            "--retry-budget-ratio {ratio} is not a share of traffic: give 0 (no retries past the first burst) or more, such as 0.2 (one retry per five requests)"
        ));
    }
    if resilience.retry_base_delay > resilience.retry_max_delay {
        findings.refusals.push(format!(
            "--retry-base-delay {} is longer than --retry-max-delay {}: every retry would wait the longest wait; set the base at most the maximum",
            humantime::format_duration(resilience.retry_base_delay),
            humantime::format_duration(resilience.retry_max_delay),
        ));
    }
    // Waits the operation's deadline cuts short: set, they never apply.
    let deadline = config.limits.operation_timeout;
    for (flag, wait, what) in [
        (
            "--retry-max-delay",
            resilience.retry_max_delay,
            "a retry that would wait that long is not made (it could not start before the deadline)",
        ),
        (
            "--comtrade-interval",
            config.comtrade.interval,
            "every Comtrade request queued behind another is refused at once, its turn past the deadline",
        ),
    ] {
        if wait >= deadline {
            findings.warnings.push(format!(
                "{flag} {} is at least --operation-timeout {}: {what}. Lower {flag}, or raise --operation-timeout",
                humantime::format_duration(wait),
                humantime::format_duration(deadline),
            ));
        }
    }
    for (flag, budget, window) in [
        ("gta", config.gta.budget, config.gta.budget_window),
        ("ita", config.ita.budget, config.ita.budget_window),
    ] {
        if let (None, Some(window)) = (budget, window) {
            findings.warnings.push(format!(
                "--{flag}-budget-window {} has no effect without --{flag}-budget: the source has no budget unless one is set",
                humantime::format_duration(window)
            ));
        }
    }
}

/// A base URL that already holds the path the gateway appends (an endpoint
/// copied from the upstream's documentation) would be asked for
/// `/api/v1/data/api/v1/data/`: every request would fail with 404.
fn endpoint_urls(config: &Config, findings: &mut Findings) {
    // What a copied endpoint looks like: a path that contains one of the
    // first (an endpoint itself), or ends with one of the second (the
    // prefix the gateway appends). A mirror's own prefix ("/api/gta",
    // "/mirror/v2/ita") is neither.
    type Markers = (&'static [&'static str], &'static [&'static str]);
    let sources: [(&str, Option<&String>, Markers, &str); 3] = [
        (
            "--gta-url",
            config.gta.url.as_ref(),
            (
                &["/api/v1/data/", "/api/v2/gta/data/"],
                &["/api/", "/api/v1/", "/api/v2/", "/api/v2/gta/"],
            ),
            "https://api.globaltradealert.org",
        ),
        (
            "--comtrade-url",
            config.comtrade.url.as_ref(),
            (
                &[
                    "/data/v1/get/",
                    "/public/v1/preview/",
                    "/api/get/",
                    "/api/refs/",
                    "/files/v1/app/",
                ],
                &["/data/v1/", "/public/v1/", "/api/get/"],
            ),
            "https://comtradeapi.un.org (v1) or https://comtrade.un.org (legacy)",
        ),
        (
            "--ita-url",
            config.ita.url.as_ref(),
            (&["/v1/search/"], &["/v2/", "/search/"]),
            "https://data.trade.gov (current) or https://api.trade.gov (v2)",
        ),
    ];
    for (flag, url, (inside, endings), example) in sources {
        let Some(path) = url
            .and_then(|url| url::Url::parse(url).ok())
            .map(|url| url.path().to_owned())
        else {
            continue;
        };
        // As the server will read it: any case, percent-decoded.
        let decoded = percent_decode(&path).to_ascii_lowercase();
        let path = format!("{}/", decoded.trim_end_matches('/'));
        let found = inside
            .iter()
            .find(|endpoint| path.contains(**endpoint))
            .or_else(|| endings.iter().find(|ending| path.ends_with(**ending)));
        if let Some(endpoint) = found {
            findings.refusals.push(format!(
                "{flag} {} holds an endpoint's path ({}): give the base URL, such as {example}; the gateway appends each endpoint's path itself",
                url.expect("checked above"),
                endpoint.trim_end_matches('/')
            ));
        }
    }
}

/// `%61` as `a`: a path written with escapes is still the same path.
fn percent_decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

/// The public hosts serve one API generation each: the other generation's
/// paths answer 404 there.
fn dialect_hosts(config: &Config, findings: &mut Findings) {
    let host = |url: Option<&String>| {
        url.and_then(|url| url::Url::parse(url).ok())
            .and_then(|url| {
                url.host_str()
                    .map(|host| host.trim_end_matches('.').to_ascii_lowercase())
            })
    };
    match (host(config.comtrade.url.as_ref()).as_deref(), config.comtrade.api) {
        (Some("comtradeapi.un.org"), ComtradeApi::Legacy) => findings.refusals.push(
            "--comtrade-url comtradeapi.un.org serves the v1 API, but --comtrade-api is legacy: set --comtrade-api v1, or --comtrade-url https://comtrade.un.org for the legacy API".into(),
        ),
        (Some("comtrade.un.org"), ComtradeApi::V1) => findings.refusals.push(
            "--comtrade-url comtrade.un.org serves the legacy API, but --comtrade-api is v1: set --comtrade-api legacy, or --comtrade-url https://comtradeapi.un.org for v1".into(),
        ),
        _ => {}
    }
    match (host(config.ita.url.as_ref()).as_deref(), config.ita.api) {
        (Some("data.trade.gov"), ItaApi::V2) => findings.refusals.push(
            "--ita-url data.trade.gov serves the current API, but --ita-api is v2: set --ita-api current, or --ita-url https://api.trade.gov for v2".into(),
        ),
        (Some("api.trade.gov"), ItaApi::Current) => findings.refusals.push(
            "--ita-url api.trade.gov serves the v2 API, but --ita-api is current: set --ita-api v2, or --ita-url https://data.trade.gov for the current API".into(),
        ),
        _ => {}
    }
    // GTA's host serves both generations: nothing to compare.
}

/// A source timeout longer than the operation deadline is cut to what is
/// left of the deadline, so the longer setting never applies to queries
/// (it still bounds subscription polls, which have no deadline).
fn timeouts(config: &Config, findings: &mut Findings) {
    let deadline = config.limits.operation_timeout;
    let sources: [(&str, Duration); 3] = [
        ("--gta-timeout", config.gta.timeout),
        ("--comtrade-timeout", config.comtrade.timeout),
        ("--ita-timeout", config.ita.timeout),
    ];
    for (flag, timeout) in sources {
        if timeout > deadline {
            findings.warnings.push(format!(
                "{flag} {} is longer than --operation-timeout {}: an operation's attempts are cut at its deadline, so queries never wait that long (subscription polls do). Lower {flag} to at most {}, or raise --operation-timeout",
                humantime::format_duration(timeout),
                humantime::format_duration(deadline),
                humantime::format_duration(deadline),
            ));
        }
    }
}

/// `TRADE_GRAPH_*` variables that no flag reads: a misspelling would
/// otherwise leave the default in force without a word.
fn unknown_variables<'a>(environment: impl IntoIterator<Item = &'a str>, findings: &mut Findings) {
    let command = Config::command();
    let known: Vec<String> = command
        .get_arguments()
        .filter_map(|argument| argument.get_env())
        .filter_map(|name| name.to_str().map(str::to_owned))
        .chain(OTHER_VARIABLES.iter().map(|name| (*name).to_owned()))
        .collect();
    let mut unknown: Vec<&str> = environment
        .into_iter()
        .filter(|name| name.starts_with("TRADE_GRAPH_") && !name.starts_with(TEST_VARIABLE_PREFIX))
        .filter(|name| !known.iter().any(|known| known == name))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    for name in unknown {
        let closest = known
            .iter()
            .map(|known| (strsim::levenshtein(name, known), known))
            .min()
            // Two edits: a typo or a swapped pair, not another setting
            // (TRADE_GRAPH_GTA_APIKEY is not TRADE_GRAPH_GTA_API).
            .filter(|(distance, _)| *distance <= 2)
            .map(|(_, known)| format!(": did you mean {known}?"))
            .unwrap_or_else(|| {
                ": `trade-graph --help` lists every variable beside its flag".into()
            });
        findings
            .warnings
            .push(format!("{name} is set but no setting reads it{closest}"));
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn findings(args: &[&str], environment: &[&str]) -> Findings {
        let mut all = vec!["trade-graph"];
        all.extend_from_slice(args);
        check(
            &Config::try_parse_from(all).expect("parses"),
            environment.iter().copied(),
        )
    }

    /// Retry settings that cannot mean what they say are refused, a
    /// budget window without its budget warned about, and a request
    /// maximum of zero refused as it is read (issue 23's attack).
    #[test]
    fn retries_and_budgets_that_cannot_mean_what_they_say() {
        for ratio in ["-1", "NaN", "inf"] {
            let found = findings(&["--retry-budget-ratio", ratio], &[]);
            assert_eq!(found.refusals.len(), 1, "{ratio}: {found:?}");
            assert!(found.refusals[0].contains("--retry-budget-ratio"));
        }
        assert_eq!(
            findings(&["--retry-budget-ratio", "0"], &[]),
            Findings::default()
        );
        let found = findings(
            &["--retry-base-delay", "10s", "--retry-max-delay", "1ms"],
            &[],
        );
        assert!(
            found.refusals[0].contains("--retry-base-delay 10s"),
            "{found:?}"
        );
        for (flag, wait) in [
            ("--retry-max-delay", "1000000h"),
            ("--comtrade-interval", "10000h"),
        ] {
            let found = findings(&[flag, wait], &[]);
            assert!(found.refusals.is_empty(), "{found:?}");
            assert!(found.warnings[0].contains(flag), "{found:?}");
        }
        let found = findings(&["--gta-budget-window", "2h"], &[]);
        assert!(found.refusals.is_empty());
        assert!(
            found.warnings[0].contains("--gta-budget-window 2h"),
            "{found:?}"
        );
        assert_eq!(
            findings(&["--gta-budget", "100", "--gta-budget-window", "2h"], &[]),
            Findings::default()
        );
        for flag in [
            "--gta-max-requests",
            "--comtrade-max-requests",
            "--ita-max-requests",
        ] {
            let refused = Config::try_parse_from(["trade-graph", flag, "0"]).unwrap_err();
            assert!(refused.to_string().contains("0 would refuse"), "{refused}");
        }
    }

    #[test]
    fn defaults_and_sample_mode_raise_nothing() {
        assert_eq!(
            findings(&[], &["TRADE_GRAPH_FIXTURES", "PATH", "TRADE_GRAPH_TEST_X"]),
            Findings::default()
        );
        let live = findings(
            &[
                "--gta-url=https://api.globaltradealert.org",
                "--comtrade-url=https://comtradeapi.un.org",
                "--ita-url=https://data.trade.gov",
                "--ita-url=https://data.trade.gov/",
            ],
            &["TRADE_GRAPH_GTA_URL"],
        );
        assert_eq!(live, Findings::default());
        // A mirror's prefix is a base URL, not an endpoint (found by an
        // attack: the last three were refused).
        for mirror in [
            "--gta-url=https://mirror.internal/gta",
            "--gta-url=https://gateway.corp/api/gta",
            "--ita-url=https://gateway.corp/mirror/v2/ita",
            "--comtrade-url=https://gateway.corp/proxy/data/v1/cache",
        ] {
            assert_eq!(findings(&[mirror], &[]), Findings::default(), "{mirror}");
        }
    }

    #[test]
    fn replicas_need_redis() {
        let refused = findings(&["--replicas", "3"], &[]).refusals;
        assert!(
            refused[0].contains("--replicas 3 has no effect without --redis-url"),
            "{refused:?}"
        );
        assert!(findings(
            &["--replicas", "3", "--redis-url", "redis://127.0.0.1:1"],
            &[]
        )
        .refusals
        .is_empty());
    }

    #[test]
    fn endpoint_urls_and_other_generations_hosts_are_refused_saying_what_to_write() {
        for (args, expected) in [
            (
                vec!["--gta-url", "https://api.globaltradealert.org/api/v1/data/"],
                "give the base URL, such as https://api.globaltradealert.org",
            ),
            (
                vec![
                    "--comtrade-url",
                    "https://comtradeapi.un.org/data/v1/get/C/A/HS",
                ],
                "(/data/v1/get)",
            ),
            (
                vec!["--ita-url", "https://data.trade.gov/trade_leads/v1/search"],
                "(/v1/search)",
            ),
            (
                vec![
                    "--gta-url",
                    "https://API.GlobalTradeAlert.org/API/V2/gta/data",
                ],
                "(/api/v2/gta/data)",
            ),
            (
                vec![
                    "--gta-url",
                    "https://api.globaltradealert.org/%61pi/v2/gta/data/",
                ],
                "(/api/v2/gta/data)",
            ),
            (
                vec!["--ita-url", "https://api.trade.gov/v2", "--ita-api", "v2"],
                "(/v2)",
            ),
            (
                vec![
                    "--comtrade-url",
                    "https://comtrade.un.org.",
                    "--comtrade-api",
                    "v1",
                ],
                "set --comtrade-api legacy",
            ),
            (
                vec![
                    "--comtrade-url",
                    "https://comtradeapi.un.org",
                    "--comtrade-api",
                    "legacy",
                ],
                "set --comtrade-api v1",
            ),
            (
                vec![
                    "--comtrade-url",
                    "https://comtrade.un.org",
                    "--comtrade-api",
                    "v1",
                ],
                "set --comtrade-api legacy",
            ),
            (
                vec!["--ita-url", "https://api.trade.gov", "--ita-api", "current"],
                "set --ita-api v2",
            ),
        ] {
            let refused = findings(&args, &[]).refusals;
            assert!(
                refused.len() == 1 && refused[0].contains(expected),
                "{args:?}: {refused:?}"
            );
        }
    }

    /// Issue 20's re-attack: a key of a few letters ("x", "Horses") took
    /// those letters out of every upstream answer. Such a key is not
    /// scrubbed, and warned about at start; a key of eight or more is.
    #[test]
    fn a_key_too_short_to_scrub_is_warned_about() {
        let warned = findings(&["--gta-key", "x", "--ita-key", "Horses"], &[]).warnings;
        assert_eq!(warned.len(), 2, "{warned:?}");
        assert!(
            warned[0].starts_with("--gta-key is 1 characters long"),
            "{warned:?}"
        );
        assert!(
            warned[1].starts_with("--ita-key is 6 characters long"),
            "{warned:?}"
        );
        assert!(findings(&["--comtrade-key", "0123456789abcdef"], &[])
            .warnings
            .is_empty());
        let short = crate::sources::scrub::Scrubber::new(Some(&crate::sources::http::Secret::new(
            "Horses",
        )));
        assert_eq!(short.scrub("Horses, asses"), "Horses, asses");
        let long = crate::sources::scrub::Scrubber::new(Some(&crate::sources::http::Secret::new(
            "Horses-and-asses",
        )));
        assert_eq!(long.scrub("key Horses-and-asses"), "key ***");
    }

    #[test]
    fn a_timeout_past_the_deadline_is_warned_with_what_to_do() {
        let warned = findings(&["--comtrade-timeout", "2m"], &[]).warnings;
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(
            warned[0].starts_with("--comtrade-timeout 2m is longer than --operation-timeout 30s"),
            "{warned:?}"
        );
        assert!(warned[0].contains("Lower --comtrade-timeout to at most 30s"));
        assert!(findings(
            &["--comtrade-timeout", "2m", "--operation-timeout", "2m"],
            &[]
        )
        .warnings
        .is_empty());
    }

    #[test]
    fn misspelled_variables_are_named_with_the_closest_one() {
        let warned = findings(
            &[],
            &[
                "TRADE_GRAPH_GTA_KYE",
                "TRADE_GRAPH_NOTHING_LIKE_IT_AT_ALL",
                "TRADE_GRAPH_GTA_KEY",
            ],
        )
        .warnings;
        assert_eq!(warned.len(), 2, "{warned:?}");
        assert!(warned.iter().any(|w| w == "TRADE_GRAPH_GTA_KYE is set but no setting reads it: did you mean TRADE_GRAPH_GTA_KEY?"), "{warned:?}");
        assert!(warned.iter().any(
            |w| w.starts_with("TRADE_GRAPH_NOTHING_LIKE_IT_AT_ALL is set") && w.contains("--help")
        ));
    }
}
