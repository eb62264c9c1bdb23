//! The OpenAPI 3.1 document of the API, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json`. The routes it lists are registered from the same table
//! (`routes::api`), and a test calls every one of them.

use super::keys::{KeyItem, KeyList, NewKeyRequest};
use super::secrets::{CreatedSecret, NewSecret, SecretItem, SecretList};
use super::{AppItem, AppList, Problem};
use actix_web::http::header;
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyturn API",
        description = "Rotate OAuth client secrets and public keys without a browser. Authenticate with `Authorization: Bearer ktp_...` (an API token from /account/tokens). Errors are problem details (RFC 9457).",
    ),
    paths(
        super::me,
        super::my_apps,
        super::secrets::list,
        super::secrets::create,
        super::secrets::revoke,
        super::keys::list,
        super::keys::create,
        super::keys::revoke,
    ),
    components(schemas(
        AppItem,
        AppList,
        SecretItem,
        SecretList,
        CreatedSecret,
        NewSecret,
        KeyItem,
        KeyList,
        NewKeyRequest,
        Problem
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// Declares the bearer scheme the paths' `security` refers to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (ktp_...) or an OAuth access token"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(ApiDoc::openapi().to_json().unwrap_or_default())
}
