use super::random::random_base62;

/// A display name for an app: 1 to 100 characters, no control characters.
#[derive(Debug, Clone)]
pub struct AppName(String);

impl AppName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            Err("Enter a name for the app.")
        } else if name.chars().count() > Self::MAX_CHARS {
            Err("Name must be at most 100 characters.")
        } else if name.chars().any(char::is_control) {
            Err("Name must not contain control characters.")
        } else {
            Ok(AppName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The public identifier an app authenticates with (`ktc_` + 24 random characters).
#[derive(Debug, Clone)]
pub struct ClientId(String);

impl ClientId {
    pub fn generate() -> Self {
        ClientId(format!("ktc_{}", random_base62(24)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `raw` could be a client id worth looking up: 1 to 128 printable ASCII characters.
    /// Anything else (a NUL byte, which PostgreSQL refuses in text, or a megabyte) is no client.
    pub fn may_be(raw: &str) -> bool {
        (1..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic())
    }
}

/// The redirect URIs an app registered, one per line in the form. Each is absolute, has no
/// fragment (RFC 6749 §3.1.2), and uses https unless it points at this machine (RFC 8252 §7.3)
/// or uses a reverse-domain private scheme for native apps (RFC 8252 §7.1).
#[derive(Debug, Clone, Default)]
pub struct RedirectUris(Vec<String>);

impl RedirectUris {
    pub const MAX_COUNT: usize = 20;
    pub const MAX_LEN: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let uris: Vec<String> = raw
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        if uris.len() > Self::MAX_COUNT {
            return Err(format!(
                "At most {} redirect URIs are allowed.",
                Self::MAX_COUNT
            ));
        }
        for uri in &uris {
            check_redirect_uri(uri).map_err(|why| format!("{}: {why}", shorten(uri)))?;
        }
        let mut unique = uris.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != uris.len() {
            return Err("Each redirect URI must be listed only once.".into());
        }
        Ok(RedirectUris(uris))
    }

    /// Reads the stored form back; it was validated when it was written.
    pub fn from_stored(stored: &str) -> Self {
        RedirectUris(stored.lines().map(str::to_owned).collect())
    }

    pub fn to_stored(&self) -> String {
        self.0.join("\n")
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    if uri.len() > RedirectUris::MAX_LEN {
        return Err("too long (at most 2000 characters)");
    }
    let parsed = url::Url::parse(uri).map_err(|_| "not an absolute URI")?;
    if parsed.fragment().is_some() {
        return Err("must not contain a fragment (#...)");
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err("must use https (http is allowed only for localhost)"),
        },
        "javascript" | "data" | "file" | "vbscript" => Err("this scheme is not allowed"),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(
            "must use https, http on localhost, or a reverse-domain scheme such as com.example.app",
        ),
    }
}

fn shorten(uri: &str) -> String {
    if uri.chars().count() > 60 {
        format!("{}…", uri.chars().take(60).collect::<String>())
    } else {
        uri.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_one_per_line() {
        let uris =
            RedirectUris::parse("https://a.example/cb\r\n\n  http://127.0.0.1:9000/cb \n").unwrap();
        assert_eq!(
            uris.as_slice(),
            ["https://a.example/cb", "http://127.0.0.1:9000/cb"]
        );
    }

    #[test]
    fn unsafe_redirect_uris_are_refused() {
        for bad in [
            "/relative",
            "https://a.example/cb#frag",
            "http://a.example/cb",
            "javascript:alert(1)",
            "myapp:/cb",
        ] {
            assert!(RedirectUris::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(RedirectUris::parse("com.example.app:/cb").is_ok());
        assert!(RedirectUris::parse("http://localhost:3000/cb").is_ok());
    }

    #[test]
    fn app_names_are_trimmed_and_bounded() {
        assert_eq!(AppName::parse("  Shop ").unwrap().as_str(), "Shop");
        assert!(AppName::parse("   ").is_err());
        assert!(AppName::parse(&"x".repeat(101)).is_err());
    }
}
