//! The SSRF guard for every URL wawp fetches or posts to on a user's behalf (webhooks, media
//! `file[url]` downloads): only `http`/`https`, and never an address inside the server's own networks
//! (loopback, private, link-local incl. the cloud metadata address 169.254.169.254, unique-local,
//! CGNAT, unspecified, multicast), unless the operator allowed it (`WAWP_ALLOW_PRIVATE_URLS`).
//!
//! The check applies to the *resolved* addresses, at connect time: [`guarded_client`] gives
//! reqwest a DNS resolver that refuses a name resolving to a blocked address (so a name cannot
//! be re-pointed between the check and the connection), checks IP-literal hosts before each
//! request, and re-checks every redirect hop.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Env var: comma-separated host names, IP addresses or CIDRs that may be private.
pub const ALLOW_ENV: &str = "WAWP_ALLOW_PRIVATE_URLS";

/// Hosts and networks exempt from the guard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

impl AllowList {
    /// Nothing allowed (the default).
    pub fn none() -> AllowList {
        AllowList::default()
    }

    /// Parses `"localhost, 127.0.0.1, 10.0.0.0/8"`. An IP is its own /32 (/128) network; anything
    /// else is a host name (case-insensitive) whose every address is allowed.
    pub fn parse(list: &str) -> AllowList {
        let mut allow = AllowList::default();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                allow.nets.push(net);
            } else if let Ok(ip) = item.trim_matches(['[', ']']).parse::<IpAddr>() {
                allow.nets.push(IpNet::from(ip));
            } else {
                allow.hosts.push(item.to_ascii_lowercase());
            }
        }
        allow
    }

    /// From [`ALLOW_ENV`] (empty when unset).
    pub fn from_env() -> AllowList {
        AllowList::parse(&std::env::var(ALLOW_ENV).unwrap_or_default())
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Whether `ip`, reached through `host`, may be used.
    pub fn permits(&self, host: Option<&str>, ip: IpAddr) -> bool {
        !is_blocked(ip) || self.allows_ip(ip) || host.is_some_and(|h| self.allows_host(h))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL points to a private or reserved address ({0})")]
    Blocked(IpAddr),
    #[error("the host name could not be resolved")]
    Resolve,
}

/// Whether an address is inside a network a server must not be made to reach.
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_blocked_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_blocked_v4(v4);
            }
            let seg = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address.
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = seg[6].to_be_bytes();
                let [c, d] = seg[7].to_be_bytes();
                return is_blocked_v4(Ipv4Addr::new(a, b, c, d));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        }
    }
}

fn is_blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // includes 169.254.169.254 (cloud metadata)
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0.0/24
        || a >= 240 // reserved
}

/// Checks the scheme and host of `url` and resolves it; every resolved address must pass the
/// guard. Returns the addresses.
pub async fn check_url(url: &Url, allow: &AllowList) -> Result<Vec<SocketAddr>, SsrfError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SsrfError::Scheme);
    }
    let host = url.host_str().ok_or(SsrfError::NoHost)?;
    let port = url.port_or_known_default().unwrap_or(80);
    if let Some(ip) = ip_literal(url) {
        return check_ip(None, ip, allow).map(|()| vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| SsrfError::Resolve)?
        .collect();
    if addrs.is_empty() {
        return Err(SsrfError::Resolve);
    }
    for a in &addrs {
        check_ip(Some(host), a.ip(), allow)?;
    }
    Ok(addrs)
}

/// The URL's host when it is an IP address (reqwest does not resolve those).
fn ip_literal(url: &Url) -> Option<IpAddr> {
    // `host_str` writes IPv6 hosts in brackets.
    url.host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn check_ip(host: Option<&str>, ip: IpAddr, allow: &AllowList) -> Result<(), SsrfError> {
    if allow.permits(host, ip) {
        Ok(())
    } else {
        Err(SsrfError::Blocked(ip))
    }
}

/// The checks that need no DNS (scheme, host, IP-literal hosts): run before each request and on
/// each redirect hop; host names are checked by the client's resolver when it connects.
pub fn check_url_static(url: &Url, allow: &AllowList) -> Result<(), SsrfError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SsrfError::Scheme);
    }
    url.host_str().ok_or(SsrfError::NoHost)?;
    match ip_literal(url) {
        Some(ip) => check_ip(None, ip, allow),
        None => Ok(()),
    }
}

/// A reqwest DNS resolver that refuses names resolving to blocked addresses.
#[derive(Clone, Debug)]
pub struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl GuardedResolver {
    pub fn new(allow: Arc<AllowList>) -> GuardedResolver {
        GuardedResolver { allow }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for a in &addrs {
                check_ip(Some(&host), a.ip(), &allow)?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// How many redirects a guarded client follows (each hop re-checked).
pub const MAX_REDIRECTS: usize = 3;

/// A reqwest client whose every connection passes the guard: the guarded resolver, IP-literal
/// redirect hops re-checked, at most [`MAX_REDIRECTS`] redirects, no proxy from the environment
/// (a proxy would resolve the name itself, past the guard), and `timeout` per request.
pub fn guarded_client(
    allow: Arc<AllowList>,
    timeout: Duration,
    user_agent: &str,
) -> Result<reqwest::Client, reqwest::Error> {
    // reqwest is built without a bundled crypto provider; wawp uses ring everywhere. Installing
    // it is idempotent (an error only says one is installed already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redirect_allow = allow.clone();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if let Err(e) = check_url_static(attempt.url(), &redirect_allow) {
            attempt.error(e)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .dns_resolver(GuardedResolver::new(allow))
        .redirect(policy)
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(user_agent)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn blocks_every_internal_range() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(is_blocked(ip), "{ip} must be blocked");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.128.0.1",
            "2606:4700::1111",
            "172.32.0.1",
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(!is_blocked(ip), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn refuses_bad_schemes_and_private_literals_unless_allowed() {
        let none = AllowList::none();
        assert_eq!(
            check_url(&url("ftp://example.com/x"), &none).await,
            Err(SsrfError::Scheme)
        );
        assert_eq!(
            check_url(&url("file:///etc/passwd"), &none).await,
            Err(SsrfError::Scheme)
        );
        assert!(matches!(
            check_url(&url("http://169.254.169.254/latest/meta-data"), &none).await,
            Err(SsrfError::Blocked(_))
        ));
        assert!(matches!(
            check_url(&url("http://[::1]:8080/"), &none).await,
            Err(SsrfError::Blocked(_))
        ));
        let allow = AllowList::parse("127.0.0.1, 10.0.0.0/8");
        assert_eq!(
            check_url(&url("http://127.0.0.1:9/hook"), &allow).await,
            Ok(vec!["127.0.0.1:9".parse().expect("addr")])
        );
        assert!(check_url(&url("http://10.9.8.7/"), &allow).await.is_ok());
        assert!(
            check_url(&url("http://192.168.0.1/"), &allow)
                .await
                .is_err()
        );
        assert!(check_url_static(&url("http://10.9.8.7/"), &none).is_err());
        assert!(check_url_static(&url("https://example.com/"), &none).is_ok());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_unless_allowed() {
        // `localhost` resolves to 127.0.0.1 (and ::1) without any network.
        let hook = url("http://localhost:9/hook");
        assert!(matches!(
            check_url(&hook, &AllowList::none()).await,
            Err(SsrfError::Blocked(_))
        ));
        assert!(
            check_url(&hook, &AllowList::parse("localhost"))
                .await
                .is_ok()
        );
        // Allowing the loopback networks allows the name too.
        assert!(
            check_url(&hook, &AllowList::parse("127.0.0.0/8,::1"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_guarded_client_refuses_to_connect_to_a_blocked_name() {
        // A listener on loopback that would answer: the client must not reach it by name.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let client = guarded_client(
            Arc::new(AllowList::none()),
            Duration::from_secs(2),
            "wawp/test",
        )
        .expect("client");
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .expect_err("refused");
        assert!(!err.is_timeout(), "refused before connecting: {err:?}");
        let mut chain = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            chain.push_str(&format!(": {s}"));
            source = s.source();
        }
        assert!(chain.contains("private or reserved"), "{chain}");
        // Allowed, the same client shape connects (the listener never answers: a timeout).
        let allowed = guarded_client(
            Arc::new(AllowList::parse("localhost")),
            Duration::from_millis(300),
            "wawp/test",
        )
        .expect("client");
        let err = allowed
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .expect_err("no answer");
        assert!(err.is_timeout(), "{err:?}");
    }

    #[tokio::test]
    async fn a_redirect_to_a_blocked_address_is_refused() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let _ = conn.read(&mut buf).await;
                let _ = conn
                    .write_all(
                        b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data\r\n\
                          content-length: 0\r\n\r\n",
                    )
                    .await;
            }
        });
        let client = guarded_client(
            Arc::new(AllowList::parse("127.0.0.1")),
            Duration::from_secs(2),
            "wawp/test",
        )
        .expect("client");
        let err = client
            .post(format!("http://127.0.0.1:{port}/hook"))
            .send()
            .await
            .expect_err("redirect refused");
        assert!(err.is_redirect(), "{err:?}");
    }
}
