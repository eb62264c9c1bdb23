//! What each request leaves behind for the people who run Keyturn: an id, returned as
//! `X-Request-Id` and carried by every log line written while the request is served; one log
//! line (client address, method, path without the query string, which a careless client
//! might fill with a secret, status, time); and its duration in the metrics, by route template.

use crate::infra::metrics::Metrics;
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<Data<AppState>>().cloned();
    let id = request_id(&req, state.as_ref().map(|s| s.get_ref()));
    // At ERROR level, so that the id is there whatever level the log is filtered to.
    let span = tracing::error_span!("request", id = %id);
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let served = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let mut response = served?;
    let status = response.status();
    if let Some(state) = &state {
        let route = response.request().match_pattern();
        state
            .metrics()
            .http_request_seconds
            .with_label_values(&[
                method.as_str(),
                route.as_deref().unwrap_or("unmatched"),
                status.as_str(),
            ])
            .observe(elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(
            client = crate::http::client_ip(response.request()).as_deref().unwrap_or("-"),
            method = %method,
            path = response.request().path(),
            status = status.as_u16(),
            ms = format_args!("{:.3}", elapsed.as_secs_f64() * 1000.0),
            "request"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// The id a trusted proxy (`KEYTURN_TRUSTED_PROXIES`) gave the request, if it is a plain token
/// of at most 64 characters; otherwise a new one. Anyone else's is ignored: a client must not
/// be able to make its requests look like another's in the log.
fn request_id(req: &ServiceRequest, state: Option<&AppState>) -> String {
    let from_proxy = req
        .peer_addr()
        .is_some_and(|peer| state.is_some_and(|state| state.trusted_proxies().contains(peer.ip())));
    let forwarded = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    match forwarded {
        Some(id) if from_proxy => id.to_owned(),
        _ => crate::domain::random_base62(20),
    }
}

/// `GET /metrics` on the metrics listener: every metric in the Prometheus text format.
pub async fn metrics(metrics: Data<Metrics>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
