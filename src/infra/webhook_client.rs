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
    #[error("Enter an http:// or https:// URL.")]
    NotHttp,
    #[error("The endpoint's host could not be resolved.")]
    Unresolved,
    #[error("The endpoint is on a loopback, private or reserved address; Keyturn only calls public addresses.")]
    Private,
}

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
    let url = Url::parse(raw.trim()).map_err(|_| TargetError::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return Err(TargetError::NotHttp);
    }
    let host = url.host_str().ok_or(TargetError::NotHttp)?.to_owned();
    let port = url.port_or_known_default().ok_or(TargetError::NotHttp)?;
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare.as_str(), port))
        .await
        .map_err(|_| TargetError::Unresolved)?
        .collect();
    if addrs.is_empty() {
        return Err(TargetError::Unresolved);
    }
    if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(TargetError::Private);
    }
    Ok(Target {
        url,
        host: bare,
        addrs,
    })
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
fn is_public(ip: IpAddr) -> bool {
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

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || first == 0x0064 && ip.segments()[1] == 0xff9b)
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
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn only_public_http_urls_are_accepted() {
        assert!(matches!(
            check("ftp://example.com/", false).await,
            Err(TargetError::NotHttp)
        ));
        assert!(matches!(
            check("not a url", false).await,
            Err(TargetError::NotHttp)
        ));
        assert!(matches!(
            check("http://127.0.0.1:9/hook", false).await,
            Err(TargetError::Private)
        ));
        assert!(matches!(
            check("http://[::1]:9/hook", false).await,
            Err(TargetError::Private)
        ));
        assert!(check("http://127.0.0.1:9/hook", true).await.is_ok());
    }
}
