/// Where a request came from: the client's address (the peer's, or the one a trusted proxy
/// forwarded) and its `User-Agent`. For throttles, "Last Used", the audit log and the Sessions
/// page. The User-Agent is cut to [`RequestOrigin::MAX_USER_AGENT_CHARS`], so no client can make
/// us store more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RequestOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestOrigin {
    pub const MAX_USER_AGENT_CHARS: usize = 256;

    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        RequestOrigin {
            ip,
            user_agent: user_agent.map(|ua| ua.chars().take(Self::MAX_USER_AGENT_CHARS).collect()),
        }
    }

    /// What the address throttles count under; requests without a peer address share one key.
    pub fn address_key(&self) -> &str {
        self.ip.as_deref().unwrap_or_default()
    }
}
