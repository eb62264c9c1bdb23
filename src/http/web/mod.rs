//! The browser side: server-rendered pages, one module per area.

pub mod access;
pub mod account_links;
pub mod accounts;
pub mod admin;
pub mod api_tokens;
pub mod apps;
pub mod authorized;
pub mod keys;
pub mod passkeys;
pub mod policy;
pub mod second_step;
pub mod secrets;
pub mod security;
pub mod team_members;
pub mod teams;
pub mod webhooks;

use crate::http::error::{AppError, UserMessage};
use crate::http::session::Flash;
use crate::http::session::TypedSession;
use actix_session::SessionExt;
use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::HttpResponse;
use askama::Template;
use chrono::NaiveDateTime;

/// What every page's layout needs: who is signed in, the CSRF token for its forms (the
/// "Log out" button is one), and a flash message left by the previous request.
pub struct Page {
    pub user_email: Option<String>,
    pub is_admin: bool,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    /// Shows the banner asking to verify the address.
    pub email_unverified: bool,
}

impl Page {
    pub fn new(session: &TypedSession) -> Result<Self, AppError> {
        Ok(Page {
            user_email: session.user_id().and(session.email()),
            is_admin: session.is_admin(),
            csrf_token: session.csrf_token()?,
            flash: session.take_flash(),
            email_unverified: session.user_id().is_some() && session.email_unverified(),
        })
    }
}

/// Renders a template as an HTML response with the given status.
pub fn html(status: StatusCode, template: &impl Template) -> Result<HttpResponse, AppError> {
    html_sized(status, template, 0)
}

/// As [`html`], for a page that embeds `extra` bytes of pre-rendered HTML: the buffer is sized
/// once instead of being grown (and copied) several times.
pub fn html_sized(
    status: StatusCode,
    template: &impl Template,
    extra: usize,
) -> Result<HttpResponse, AppError> {
    let mut page = String::with_capacity(8 * 1024 + extra);
    template.render_into(&mut page)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page))
}

/// The Post/Redirect/Get answer to a successful form.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A timestamp as shown on pages: relative words for people, RFC 3339 UTC for machines.
pub struct TimeView {
    pub iso: String,
    pub relative: String,
}

impl TimeView {
    pub fn new(at: NaiveDateTime, now: NaiveDateTime) -> Self {
        TimeView {
            iso: at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            relative: relative_time(at, now),
        }
    }
}

fn relative_time(at: NaiveDateTime, now: NaiveDateTime) -> String {
    let seconds = (now - at).num_seconds();
    if seconds < -2_591_999 {
        return format!("on {}", at.format("%Y-%m-%d"));
    }
    if seconds < -59 {
        // Round to the nearest minute: a schedule set a moment ago for one hour reads "in 1 hour".
        return format!("in {}", span(-seconds + 30, at));
    }
    match seconds {
        i64::MIN..=59 => "just now".to_owned(),
        60..=2_591_999 => format!("{} ago", span(seconds, at)),
        _ => format!("on {}", at.format("%Y-%m-%d")),
    }
}

/// "3 minutes", "2 hours", "5 days" (rounded down), or a date when further than 30 days.
fn span(seconds: i64, at: NaiveDateTime) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match seconds {
        i64::MIN..=3_599 => plural((seconds / 60).max(1), "minute"),
        3_600..=86_399 => plural(seconds / 3_600, "hour"),
        86_400..=2_591_999 => plural(seconds / 86_400, "day"),
        _ => format!("{}", at.format("%Y-%m-%d")),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    title: &'static str,
    message: String,
}

/// Turns every plain error response of the browser side (ours and actix's own, such as an
/// unknown route) into the site's error page. JSON and HTML responses are left as they are, so
/// OAuth errors keep their RFC format and re-shown forms keep their content.
pub fn error_page<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json")
        || content_type.starts_with("application/problem+json")
        || content_type.starts_with("text/html")
    {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let path = res.request().path();
    // The authorization endpoint is a page people see; the other OAuth endpoints are for machines.
    let for_machines =
        path.starts_with("/api/") || (path.starts_with("/oauth/") && path != "/oauth/authorize");
    if for_machines {
        return Ok(ErrorHandlerResponse::Response(machine_error(res, status)));
    }
    let message = res
        .response()
        .extensions()
        .get::<UserMessage>()
        .map(|m| m.0.clone())
        .unwrap_or_else(|| default_message(status).to_owned());
    let session = TypedSession::from_session(res.request().get_session());
    let page = Page {
        user_email: session.user_id().and(session.email()),
        is_admin: session.is_admin(),
        csrf_token: session.existing_csrf_token().unwrap_or_default(),
        flash: None,
        email_unverified: false,
    };
    let body = ErrorPage {
        page,
        title: status.canonical_reason().unwrap_or("Error"),
        message,
    }
    .render()
    .unwrap_or_else(|_| "Error".to_owned());
    let (req, mut res) = res.into_parts();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let res = ServiceResponse::new(req, res.set_body(body)).map_into_boxed_body();
    Ok(ErrorHandlerResponse::Response(
        res.map_body(|_, b| EitherBody::right(b)),
    ))
}

/// Machines get JSON, never an HTML page: RFC 6749 §5.2 style for everything we did not
/// answer ourselves (unknown route, oversized body, wrong method), and a problem document
/// (RFC 9457) under `/api/`.
fn machine_error<B>(res: ServiceResponse<B>, status: StatusCode) -> ServiceResponse<EitherBody<B>> {
    let error = if status.is_server_error() {
        "server_error"
    } else if status == StatusCode::NOT_FOUND {
        "not_found"
    } else {
        "invalid_request"
    };
    let (req, mut res) = res.into_parts();
    let body = if req.path().starts_with("/api/") {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        serde_json::json!({
            "type": format!("urn:keyturn:problem:{error}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": default_message(status),
            "error": error,
        })
        .to_string()
    } else {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        serde_json::json!({ "error": error }).to_string()
    };
    ServiceResponse::new(req, res.set_body(body))
        .map_into_boxed_body()
        .map_body(|_, b| EitherBody::right(b))
}

fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Page not found.",
        StatusCode::METHOD_NOT_ALLOWED => "That action is not available here.",
        StatusCode::PAYLOAD_TOO_LARGE => "The request is too large.",
        s if s.is_server_error() => "Something went wrong on our side. Please try again.",
        _ => "The request could not be handled.",
    }
}

/// The stylesheet and the one script, compiled into the binary so it runs from any directory.
pub async fn stylesheet() -> HttpResponse {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../../../static/app.css"),
    )
}

pub async fn script() -> HttpResponse {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../../../static/app.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// `GET /healthz`: the process is up and serving (no database involved).
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers a query; 503 when it does not.
pub async fn readyz(state: actix_web::web::Data<crate::state::AppState>) -> HttpResponse {
    let ready = crate::db::run(state.pool(), crate::db::ping).await;
    let (status, body) = match ready {
        Ok(_) => (StatusCode::OK, serde_json::json!({"status": "ready"})),
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"status": "unavailable"}),
            )
        }
    };
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

/// `/`: the signed-in start page, or the login page.
pub async fn home(session: TypedSession) -> HttpResponse {
    see_other(if session.user_id().is_some() {
        "/apps"
    } else {
        "/login"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let ago = |s| relative_time(now - chrono::TimeDelta::seconds(s), now);
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(3 * 60 + 10), "3 minutes ago");
        assert_eq!(ago(2 * 3600), "2 hours ago");
        assert_eq!(ago(86_400), "1 day ago");
        assert!(ago(90 * 86_400).starts_with("on "));
        assert_eq!(ago(-3600), "in 1 hour");
        assert_eq!(ago(-(59 * 60 + 59)), "in 1 hour");
        assert_eq!(ago(-(59 * 60)), "in 59 minutes");
        assert_eq!(ago(-7 * 86_400), "in 7 days");
    }
}
