//! Who is asking: the client address that rate limits and the MFA IP binding are keyed on,
//! taken from the connection, or from a proxy header only when the connection comes from a
//! trusted proxy.
//!
//! A proxy *appends* the address it saw to `X-Forwarded-For`; everything to the left of that
//! was written by the client and can say anything. So the client is the right-most address
//! that no trusted proxy wrote: walk the list from the right, skip trusted proxies, and stop
//! at the first address that is not one (as Rails' `remote_ip` and Go's
//! `httputil`-style resolvers do). A first hop chosen by the client never becomes the key.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// The client of an auth operation, for its per-IP rate limits and the MFA IP binding.
///
/// Build it from the connection with [`AuthService::client`](crate::AuthService::client)
/// (which applies the trusted-proxy rules), or with [`Client::unknown`] for callers without a
/// network peer (a CLI, a job): those are still held to the per-user and per-account limits.
///
/// ```
/// use routekit_auth::Client;
///
/// let client = Client::from_ip("2001:db8::1".parse().unwrap());
/// assert_eq!(client.ip(), Some("2001:db8::1".parse().unwrap()));
/// assert_eq!(Client::unknown().ip(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    ip: Option<IpAddr>,
    /// The captcha token the request carried (GoTrue's `gotrue_meta_security.captcha_token`).
    captcha_token: Option<Box<str>>,
}

impl Client {
    /// A client at `ip` (IPv4-mapped IPv6 addresses are taken as the IPv4 address).
    pub fn from_ip(ip: IpAddr) -> Self {
        Client {
            ip: Some(ip.to_canonical()),
            captcha_token: None,
        }
    }

    /// A caller with no network address (a CLI, a background job, a test).
    pub fn unknown() -> Self {
        Client {
            ip: None,
            captcha_token: None,
        }
    }

    /// The address, if the caller has one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The same client with the captcha token its request carried: with a captcha
    /// configured, sign-ups and password sign-ins need one the provider accepts.
    ///
    /// ```
    /// let client = routekit_auth::Client::unknown().with_captcha_token("token-from-the-widget");
    /// assert_eq!(client.captcha_token(), Some("token-from-the-widget"));
    /// ```
    pub fn with_captcha_token(mut self, token: impl Into<String>) -> Self {
        let token: String = token.into();
        self.captcha_token = (!token.is_empty()).then(|| token.into_boxed_str());
        self
    }

    /// The captcha token, if the request carried one.
    pub fn captcha_token(&self) -> Option<&str> {
        self.captcha_token.as_deref()
    }

    /// The address as the MFA IP binding stores it (empty when unknown).
    pub(crate) fn binding(&self) -> String {
        self.ip.map(|ip| ip.to_string()).unwrap_or_default()
    }
}

/// How to find the client behind proxies: the header to read and who may write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientResolver {
    header: Option<http::HeaderName>,
    trusted: Vec<IpNet>,
}

/// Loopback, private (RFC 1918), link-local and unique-local networks: where a reverse proxy
/// of the same deployment sits. Rails trusts the same list by default.
pub(crate) const DEFAULT_TRUSTED_PROXIES: &[&str] = &[
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
];

/// [`DEFAULT_TRUSTED_PROXIES`], parsed.
pub(crate) fn default_trusted_proxies() -> Vec<IpNet> {
    DEFAULT_TRUSTED_PROXIES
        .iter()
        .map(|net| net.parse().expect("the default networks parse"))
        .collect()
}

impl ClientResolver {
    /// `header` (e.g. `X-Forwarded-For`) is honoured only on connections from `trusted`.
    pub(crate) fn new(header: Option<&str>, trusted: &[IpNet]) -> Self {
        ClientResolver {
            header: header.and_then(|h| http::HeaderName::try_from(h.trim()).ok()),
            trusted: trusted.to_vec(),
        }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer`.
    pub(crate) fn resolve(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Client {
        let Some(peer) = peer else {
            return Client::unknown();
        };
        let Some(header) = &self.header else {
            return Client::from_ip(peer);
        };
        if !self.is_trusted(peer) {
            // Anyone can send the header; only a trusted proxy's copy means anything.
            return Client::from_ip(peer);
        }
        // Several header lines are one list, in order.
        let hops: Vec<&str> = headers
            .get_all(header)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // Garbage was written by the client (or a proxy we do not know): the last
                // address a trusted hop vouched for is the best we have.
                break;
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        Client::from_ip(client)
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// Parses `ROUTEKIT_AUTH_TRUSTED_PROXIES`-style lists: CIDR networks or single addresses,
/// separated by commas.
pub(crate) fn parse_networks(list: &str) -> Option<Vec<IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .ok()
                .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver() -> ClientResolver {
        ClientResolver::new(Some("x-forwarded-for"), &default_trusted_proxies())
    }

    fn resolve(resolver: &ClientResolver, xff: &[&str], peer: &str) -> Option<IpAddr> {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        resolver.resolve(&headers, Some(peer.parse().unwrap())).ip()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_client_is_the_right_most_hop_no_trusted_proxy_wrote() {
        let r = resolver();
        // The client prepended a victim's address; the proxy appended the real one.
        assert_eq!(
            resolve(&r, &["198.51.100.7, 203.0.113.9"], "127.0.0.1"),
            ip("203.0.113.9")
        );
        // A chain of internal proxies is skipped.
        assert_eq!(
            resolve(&r, &["203.0.113.9, 10.0.0.2, 10.0.0.1"], "127.0.0.1"),
            ip("203.0.113.9")
        );
        // Header lines are one list.
        assert_eq!(
            resolve(&r, &["198.51.100.7", "203.0.113.9"], "10.1.1.1"),
            ip("203.0.113.9")
        );
        // Ports and brackets are fine.
        assert_eq!(
            resolve(&r, &["[2001:db8::1]:443"], "::1"),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn the_header_is_ignored_unless_a_trusted_proxy_sent_it() {
        let r = resolver();
        assert_eq!(
            resolve(&r, &["203.0.113.9"], "198.51.100.1"),
            ip("198.51.100.1")
        );
        let untrusting = ClientResolver::new(None, &[]);
        assert_eq!(
            resolve(&untrusting, &["203.0.113.9"], "127.0.0.1"),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn a_value_that_is_not_an_address_is_never_a_key() {
        let r = resolver();
        // `user:<uuid>` used to be taken verbatim as the bucket key.
        assert_eq!(
            resolve(
                &r,
                &["user:4f1c2d3e-0000-0000-0000-000000000000"],
                "127.0.0.1"
            ),
            ip("127.0.0.1")
        );
        assert_eq!(
            resolve(&r, &["203.0.113.9, garbage, 10.0.0.1"], "127.0.0.1"),
            ip("10.0.0.1")
        );
        assert_eq!(resolve(&r, &[""], "127.0.0.1"), ip("127.0.0.1"));
    }

    #[test]
    fn mapped_addresses_are_the_ipv4_address() {
        assert_eq!(
            Client::from_ip("::ffff:192.0.2.1".parse().unwrap()).ip(),
            ip("192.0.2.1")
        );
    }
}
