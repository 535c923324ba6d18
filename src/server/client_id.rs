//! Who an operation is for, so that every client gets its share of a scarce
//! upstream budget: the caller's own API key when the operator names the
//! header that carries it (hashed: the key never reaches logs or metrics),
//! else the address it connects from, or, behind a trusted proxy, the
//! address the proxy says it forwarded for.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::sources::pacing::ClientId;

/// How clients are told apart (from configuration).
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientIdentity {
    /// The header holding the caller's own API key, if the operator uses one.
    pub header: Option<HeaderName>,
    /// Proxies whose `X-Forwarded-For` is believed: addresses or ranges.
    pub trusted_proxies: Vec<IpNet>,
    /// The keys the header may carry (their SHA-256), when the operator
    /// lists them (`--client-keys-file`).
    pub known_keys: Option<HashSet<[u8; 32]>>,
}

/// Reads a `--client-keys-file`: one key a line, or `sha256:` and its hex
/// digest; blank lines and `#` comments skipped. An entry that is neither
/// (a `sha256:` digest of the wrong length) is an error naming its line.
pub(crate) fn read_known_keys(text: &str) -> Result<HashSet<[u8; 32]>, String> {
    let mut keys = HashSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let digest = match line.strip_prefix("sha256:") {
            Some(hex) => {
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|at| {
                        hex.get(at..at + 2)
                            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    })
                    .collect::<Option<Vec<u8>>>()
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
                bytes.ok_or_else(|| {
                    format!(
                        "line {}: \"sha256:\" must be followed by 64 hex digits",
                        number + 1
                    )
                })?
            }
            None => Sha256::digest(line.as_bytes()).into(),
        };
        keys.insert(digest);
    }
    if keys.is_empty() {
        return Err("it lists no key".to_owned());
    }
    Ok(keys)
}

impl ClientIdentity {
    /// Whether a key in the header is believed: listed when the operator
    /// lists keys; else forwarded by a trusted proxy when there are any
    /// (which vouch for them); else (neither configured) always, as the
    /// operator chose.
    fn believes(&self, key: &[u8], peer: Option<IpAddr>) -> bool {
        match &self.known_keys {
            Some(known) => known.contains(&<[u8; 32]>::from(Sha256::digest(key))),
            None if !self.trusted_proxies.is_empty() => {
                peer.is_some_and(|peer| self.is_trusted(peer))
            }
            None => true,
        }
    }

    /// The client a request comes from.
    pub fn of(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> ClientId {
        let peer_address = peer.map(|peer| peer.ip().to_canonical());
        if let Some(key) = self
            .header
            .as_ref()
            .and_then(|name| headers.get(name))
            .filter(|value| !value.is_empty())
            .filter(|value| self.believes(value.as_bytes(), peer_address))
        {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            key.as_bytes().hash(&mut hasher);
            return ClientId(format!("key:{:016x}", hasher.finish()));
        }
        // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`; the
        // operator writes them as IPv4.
        let Some(peer) = peer.map(|peer| peer.ip().to_canonical()) else {
            return ClientId("unknown".into());
        };
        if !self.is_trusted(peer) {
            return ClientId(peer.to_string());
        }
        // Right to left: the first address not one of our proxies is the
        // client (what is further left, the client could have written). An
        // entry that is no address ends the walk at the peer: skipping it
        // would believe what the client wrote further left.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|value| value.to_str().ok())
            .collect::<Option<Vec<_>>>();
        let Some(forwarded) = forwarded else {
            return ClientId(peer.to_string());
        };
        let mut client = peer;
        for entry in forwarded.iter().flat_map(|value| value.split(',')).rev() {
            match forwarded_address(entry) {
                Some(address) if self.is_trusted(address) => continue,
                Some(address) => client = address,
                None => {}
            }
            break;
        }
        ClientId(client.to_string())
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|range| range.contains(&address))
    }
}

/// The address of one `X-Forwarded-For` entry, as proxies write them: a
/// bare address (`203.0.113.7`, `2001:db8::1`), or one with the port it
/// came from (`203.0.113.7:4711`, `[2001:db8::1]:443`, or `[2001:db8::1]`
/// without one); IPv4 seen through IPv6 (`::ffff:a.b.c.d`) as IPv4.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let address = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(IpAddr::V6)
        })?;
    Some(address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn clients_are_told_apart_by_key_then_address() {
        let proxy: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let identity = ClientIdentity {
            header: Some(HeaderName::from_static("x-api-key")),
            trusted_proxies: vec![IpNet::from(proxy.ip())],
            known_keys: None,
        };
        let keyed = identity.of(&headers(&[("x-api-key", "secret-1")]), Some(proxy));
        assert!(keyed.0.starts_with("key:") && !keyed.0.contains("secret"));
        assert_ne!(
            keyed,
            identity.of(&headers(&[("x-api-key", "secret-2")]), Some(proxy))
        );
        // Behind the trusted proxy: the forwarded-for address, right to left.
        let forwarded = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.1")]);
        assert_eq!(identity.of(&forwarded, Some(proxy)).0, "203.0.113.9");
        // From anyone else, the header is not believed.
        let direct: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        assert_eq!(identity.of(&forwarded, Some(direct)).0, "198.51.100.7");
        assert_eq!(identity.of(&HeaderMap::new(), None).0, "unknown");
    }

    /// A key in the header is believed only as the operator says: listed
    /// in the keys file (as itself or its digest), else forwarded by a
    /// trusted proxy; a key minted by the client is told apart by address,
    /// whatever it writes.
    #[test]
    fn minted_keys_are_not_believed() {
        let listed = read_known_keys(
            "# our clients\nsecret-1\n\nsha256:5f8a3e7e1f0f6e0e2b0c3e5a0f8f2f0a7c0b5d1f2e3a4b5c6d7e8f9a0b1c2d3e\n",
        )
        .unwrap();
        assert_eq!(listed.len(), 2);
        assert!(read_known_keys("sha256:abc")
            .unwrap_err()
            .contains("line 1"));
        assert!(read_known_keys("# nothing\n").is_err());
        let peer: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        let header = Some(HeaderName::from_static("x-api-key"));
        let with_list = ClientIdentity {
            header: header.clone(),
            trusted_proxies: Vec::new(),
            known_keys: Some(listed),
        };
        assert!(with_list
            .of(&headers(&[("x-api-key", "secret-1")]), Some(peer))
            .0
            .starts_with("key:"));
        for minted in ["secret-2", "secret-1 ", "x", "SECRET-1"] {
            assert_eq!(
                with_list
                    .of(&headers(&[("x-api-key", minted)]), Some(peer))
                    .0,
                "198.51.100.7",
                "{minted}"
            );
        }
        let proxy: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let behind_proxy = ClientIdentity {
            header,
            trusted_proxies: vec![IpNet::from(proxy.ip())],
            known_keys: None,
        };
        assert!(behind_proxy
            .of(&headers(&[("x-api-key", "anything")]), Some(proxy))
            .0
            .starts_with("key:"));
        assert_eq!(
            behind_proxy
                .of(&headers(&[("x-api-key", "anything")]), Some(peer))
                .0,
            "198.51.100.7",
            "a key sent around the proxy is not believed"
        );
    }

    #[test]
    fn trusted_proxies_are_ranges_and_ipv4_seen_over_ipv6_is_ipv4() {
        let identity = ClientIdentity {
            header: None,
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
            known_keys: None,
        };
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9, 10.2.3.4")]);
        for proxy in ["10.9.9.9:1", "[::ffff:10.1.2.3]:1", "[fd00::7]:1"] {
            let proxy: SocketAddr = proxy.parse().unwrap();
            assert_eq!(
                identity.of(&forwarded, Some(proxy)).0,
                "203.0.113.9",
                "{proxy}"
            );
        }
        let outside: SocketAddr = "11.0.0.1:1".parse().unwrap();
        assert_eq!(identity.of(&forwarded, Some(outside)).0, "11.0.0.1");
    }

    /// How an address may be written in one entry: bare, with a port, or
    /// (IPv6) in brackets with or without one.
    fn written(address: IpAddr, port: Option<u16>, bracketed: bool) -> String {
        match (address, port) {
            (IpAddr::V4(v4), Some(port)) => format!("{v4}:{port}"),
            (IpAddr::V4(v4), None) => v4.to_string(),
            (IpAddr::V6(v6), Some(port)) => format!("[{v6}]:{port}"),
            (IpAddr::V6(v6), None) if bracketed => format!("[{v6}]"),
            (IpAddr::V6(v6), None) => v6.to_string(),
        }
    }

    proptest::proptest! {
        /// Behind trusted proxies, the client is the rightmost untrusted
        /// entry however it is written (any address, with or without any
        /// port, spaces around it), never the peer and never what the
        /// client wrote further left.
        #[test]
        fn forwarded_entries_with_ports_name_the_client(
            client in proptest::strategy::Strategy::prop_filter(
                proptest::prelude::any::<IpAddr>(),"outside the proxies' range", |address| {
                    !"10.0.0.0/8".parse::<IpNet>().unwrap().contains(&address.to_canonical())
                },
            ),
            spoofed in proptest::prelude::any::<IpAddr>(),
            port in proptest::option::of(proptest::prelude::any::<u16>()),
            bracketed in proptest::prelude::any::<bool>(),
            proxies in proptest::collection::vec((proptest::prelude::any::<[u8; 3]>(), proptest::option::of(proptest::prelude::any::<u16>())), 0..3),
            spaces in "[ ]{0,2}",
        ) {
            use proptest::prelude::*;
            let identity = ClientIdentity {
                header: None,
                trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
                known_keys: None,
            };
            let mut entries = vec![
                written(spoofed, None, false),
                format!("{spaces}{}{spaces}", written(client, port, bracketed)),
            ];
            for (octets, port) in &proxies {
                let proxy = IpAddr::from([10, octets[0], octets[1], octets[2]]);
                entries.push(written(proxy, *port, false));
            }
            let forwarded = headers(&[("x-forwarded-for", &entries.join(","))]);
            let peer: SocketAddr = "10.0.0.1:4000".parse().unwrap();
            prop_assert_eq!(
                identity.of(&forwarded, Some(peer)).0,
                client.to_canonical().to_string()
            );
        }

        /// Whatever an entry is, reading it never panics, and an entry that
        /// is no address leaves the client at the peer (nothing left of it
        /// is believed).
        #[test]
        fn entries_that_are_no_address_stop_at_the_peer(
            junk in "[^,]{0,40}",
            spoofed in proptest::prelude::any::<std::net::Ipv4Addr>(),
        ) {
            use proptest::prelude::*;
            let identity = ClientIdentity {
                header: None,
                trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
                known_keys: None,
            };
            let peer: SocketAddr = "10.0.0.1:4000".parse().unwrap();
            let Ok(value) = axum::http::HeaderValue::from_str(&format!("{spoofed}, {junk}")) else {
                return Ok(());
            };
            let mut forwarded = HeaderMap::new();
            forwarded.insert("x-forwarded-for", value);
            let client = identity.of(&forwarded, Some(peer)).0;
            let proxies: IpNet = "10.0.0.0/8".parse().unwrap();
            let spoofed_shown = if proxies.contains(&IpAddr::V4(spoofed)) {
                "10.0.0.1".to_owned()
            } else {
                spoofed.to_string()
            };
            match forwarded_address(&junk) {
                Some(address) if !proxies.contains(&address) => {
                    prop_assert_eq!(client, address.to_string())
                }
                Some(_) => prop_assert_eq!(client, spoofed_shown),
                None => prop_assert_eq!(client, "10.0.0.1"),
            }
        }
    }

    #[test]
    fn the_entries_operators_reported_are_read() {
        for (entry, address) in [
            ("203.0.113.7:4711", "203.0.113.7"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            (" 2001:db8::1 ", "2001:db8::1"),
            ("[::ffff:203.0.113.7]:80", "203.0.113.7"),
        ] {
            assert_eq!(
                forwarded_address(entry).map(|address| address.to_string()),
                Some(address.to_owned()),
                "{entry}"
            );
        }
        for junk in [
            "unknown",
            "",
            "2001:db8::1:443x",
            "[2001:db8::1",
            "1.2.3.4:99999",
        ] {
            assert_eq!(forwarded_address(junk), None, "{junk}");
        }
    }
}
