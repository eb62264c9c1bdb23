//! Where a request comes from: the client's address (believing forwarded headers only from
//! trusted proxies) and its `User-Agent`, for throttles, Last Used and the audit log.

use crate::domain::RequestOrigin;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::HttpRequest;

/// The address of the client that sent the request: the TCP peer's, or behind a trusted proxy
/// (`KEYTURN_TRUSTED_PROXIES`) the one it forwarded. Anyone else's forwarded headers are
/// ignored: a client could write anything there.
pub fn client_ip(req: &HttpRequest) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let address = match req.app_data::<Data<AppState>>() {
        Some(state) => state.trusted_proxies().client_address(
            peer,
            req.headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok()),
        ),
        None => peer,
    };
    Some(address.to_string())
}

/// The client's address and `User-Agent`.
pub fn request_origin(req: &HttpRequest) -> RequestOrigin {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    RequestOrigin::new(client_ip(req), user_agent)
}
