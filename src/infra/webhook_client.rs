//! Posting to webhook endpoints without becoming a way into the private network: a target's
//! host is resolved, every address must be public (unless allowed for development), and the
//! request goes to exactly those addresses, so a DNS answer cannot change between the check
//! and the connection. No redirects are followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use url::Url;

/// Why an endpoint URL is refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("Enter an http:// or https:// URL (at most 2,000 characters, no password in it).")]
    NotHttp,
    /// The same answer whether the host does not resolve or resolves to a private address, so
    /// the form cannot be used to probe internal names.
    #[error("The endpoint must resolve to public addresses only; Keyturn does not call loopback, private or reserved ones.")]
    NotPublic,
}

/// Longer URLs are refused.
const MAX_URL_LEN: usize = 2000;
/// At most this many name lookups at once, each on its own thread, so slow or hostile DNS can
/// neither take the threads database work runs on nor pile up threads.
static LOOKUPS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(8);
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// A checked endpoint: its URL and the public addresses it resolved to.
#[derive(Debug, Clone)]
pub struct Target {
    url: Url,
    host: String,
    addrs: Vec<SocketAddr>,
}

/// Parses and resolves `raw`, refusing anything but a public http(s) endpoint unless
/// `allow_private`.
pub async fn check(raw: &str, allow_private: bool) -> Result<Target, TargetError> {
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(TargetError::NotHttp);
    }
    let url = Url::parse(raw).map_err(|_| TargetError::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(TargetError::NotHttp);
    }
    let host = url.host_str().ok_or(TargetError::NotHttp)?.to_owned();
    let port = url.port_or_known_default().ok_or(TargetError::NotHttp)?;
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addrs = lookup(bare.clone(), port)
        .await
        .ok_or(TargetError::NotPublic)?;
    if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(TargetError::NotPublic);
    }
    Ok(Target {
        url,
        host: bare,
        addrs,
    })
}

/// The addresses of `host`, resolved on a thread of its own within `LOOKUP_TIMEOUT`; `None` if
/// it does not resolve in time (or at all).
pub(crate) async fn lookup(host: String, port: u16) -> Option<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs;
    let _permit = tokio::time::timeout(LOOKUP_TIMEOUT, LOOKUPS.acquire())
        .await
        .ok()?
        .ok()?;
    let (answer, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("keyturn-dns".into())
        .spawn(move || {
            let found = (host.as_str(), port)
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<Vec<_>>());
            let _ = answer.send(found);
        })
        .ok()?;
    let addrs = tokio::time::timeout(LOOKUP_TIMEOUT, answered)
        .await
        .ok()?
        .ok()?
        .ok()?;
    (!addrs.is_empty()).then_some(addrs)
}

impl Target {
    /// The URL as parsed (normalised and percent-encoded): what is stored and called.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }
}

/// POSTs `body` as JSON with `headers`; the status code, or why there is none.
pub async fn post(
    target: &Target,
    headers: &[(&str, String)],
    body: String,
) -> Result<u16, String> {
    let client = reqwest::Client::builder()
        .resolve_to_addrs(&target.host, &target.addrs)
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would resolve the host again, out of our control.
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent("Keyturn-Webhooks/1")
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))?;
    let mut request = client
        .post(target.url.clone())
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    match request.body(body).send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(e) if e.is_timeout() => Err("timed out".to_owned()),
        Err(e) if e.is_connect() => Err("could not connect".to_owned()),
        Err(_) => Err("the request failed".to_owned()),
    }
}

/// Whether an address is on the public internet.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

/// Only global unicast (2000::/3), without the ranges that embed or tunnel to IPv4 (6to4,
/// Teredo, NAT64), documentation, or ORCHID.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let [first, second, ..] = ip.segments();
    (first & 0xe000) == 0x2000
        && first != 0x2002
        && !(first == 0x2001
            && (second == 0x0000
                || second == 0x0db8
                || (second & 0xfff0) == 0x0010
                || (second & 0xfff0) == 0x0020))
        && !(first == 0x0064 && second == 0xff9b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_reserved_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::1",
            "2001::1",
            "fec0::1",
            "100::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn only_public_http_urls_are_accepted() {
        for bad in [
            "ftp://example.com/",
            "not a url",
            "https://:password@example.com/",
            "https://user@example.com/",
        ] {
            assert!(
                matches!(check(bad, false).await, Err(TargetError::NotHttp)),
                "{bad}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(2000));
        assert!(matches!(
            check(&long, false).await,
            Err(TargetError::NotHttp)
        ));
        for private in [
            "http://127.0.0.1:9/hook",
            "http://[::1]:9/hook",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://localhost:9/",
        ] {
            assert!(
                matches!(check(private, false).await, Err(TargetError::NotPublic)),
                "{private}"
            );
        }
        assert!(check("http://127.0.0.1:9/hook", true).await.is_ok());
    }
}
