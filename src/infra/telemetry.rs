//! Logging. Nothing secret is ever passed to a log macro; request logs carry method, path and
//! status, never bodies or the `Authorization` header.

use tracing_subscriber::{fmt, EnvFilter};

/// Logs to stdout; `RUST_LOG` overrides the default level (`info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .init();
}
