//! The client's IP address, for everything counted per client.
//!
//! It is the socket peer, unless the peer is one of `FLASKPASTE_TRUSTED_PROXIES`: then
//! `X-Forwarded-For` is read from right to left, skipping trusted hops, and the first address
//! not trusted is the client. A client therefore never chooses its own address with a header:
//! only a trusted proxy's word is taken, and only about the hop just before it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The address a request is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(Option<IpAddr>);

impl ClientIp {
    /// For requests that did not come through a socket (never the case in the server).
    pub fn unknown() -> Self {
        Self(None)
    }

    pub fn addr(&self) -> Option<IpAddr> {
        self.0
    }

    /// Decides the client's address from the peer and the forwarding headers.
    pub fn resolve(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let Some(peer) = peer.map(|p| canonical(p.ip())) else {
            return Self::unknown();
        };
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
        if !is_trusted(&peer) {
            return Self(Some(peer));
        }

        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop that is not an address ends the chain: the trusted proxy that wrote it is
            // the last thing known for sure.
            let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
                break;
            };
            client = ip;
            if !is_trusted(&ip) {
                break;
            }
        }
        Self(Some(client))
    }

    /// The address resolved by the request middleware.
    pub fn from_parts(parts: &Parts) -> Self {
        parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or_else(|| {
                let peer = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0);
                Self(peer.map(|p| canonical(p.ip())))
            })
    }
}

/// IPv4 clients reaching an IPv6 socket are counted by their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

impl fmt::Display for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn resolve(peer: &str, forwarded: Option<&str>, trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        if let Some(value) = forwarded {
            headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        let peer: SocketAddr = peer.parse().unwrap();
        ClientIp::resolve(Some(peer), &headers, &trusted).to_string()
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        assert_eq!(
            resolve("203.0.113.9:4000", Some("1.2.3.4"), &[]),
            "203.0.113.9"
        );
        assert_eq!(
            resolve("203.0.113.9:4000", Some("1.2.3.4"), &["10.0.0.0/8"]),
            "203.0.113.9"
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_hop_before_it() {
        assert_eq!(
            resolve("10.0.0.2:4000", Some("198.51.100.7"), &["10.0.0.0/8"]),
            "198.51.100.7"
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_wins_over_what_the_client_prepended() {
        let chain = "6.6.6.6, 198.51.100.7, 10.0.0.3";

        assert_eq!(
            resolve("10.0.0.2:4000", Some(chain), &["10.0.0.0/8"]),
            "198.51.100.7"
        );
    }

    #[test]
    fn garbage_in_the_chain_stops_at_the_last_trusted_hop() {
        assert_eq!(
            resolve("10.0.0.2:4000", Some("1.1.1.1, not-an-ip"), &["10.0.0.0/8"]),
            "10.0.0.2"
        );
        assert_eq!(resolve("10.0.0.2:4000", None, &["10.0.0.0/8"]), "10.0.0.2");
    }

    #[test]
    fn ipv4_mapped_peers_count_as_ipv4() {
        assert_eq!(resolve("[::ffff:192.0.2.1]:80", None, &[]), "192.0.2.1");
    }
}
