//! Who an operation is for, so that every client gets its share of a scarce
//! upstream budget: the caller's own API key when the operator names the
//! header that carries it (hashed: the key never reaches logs or metrics),
//! else the address it connects from, or, behind a trusted proxy, the
//! address the proxy says it forwarded for.

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

use crate::sources::pacing::ClientId;

/// How clients are told apart (from configuration).
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientIdentity {
    /// The header holding the caller's own API key, if the operator uses one.
    pub header: Option<HeaderName>,
    /// Proxies whose `X-Forwarded-For` is believed: addresses or ranges.
    pub trusted_proxies: Vec<IpNet>,
}

impl ClientIdentity {
    /// The client a request comes from.
    pub fn of(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> ClientId {
        if let Some(key) = self
            .header
            .as_ref()
            .and_then(|name| headers.get(name))
            .filter(|value| !value.is_empty())
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
        // client (what is further left, the client could have written).
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let client = forwarded
            .iter()
            .rev()
            .filter_map(|address| address.parse::<IpAddr>().ok())
            .map(|address| address.to_canonical())
            .find(|address| !self.is_trusted(*address))
            .unwrap_or(peer);
        ClientId(client.to_string())
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|range| range.contains(&address))
    }
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

    #[test]
    fn trusted_proxies_are_ranges_and_ipv4_seen_over_ipv6_is_ipv4() {
        let identity = ClientIdentity {
            header: None,
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()],
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
}
