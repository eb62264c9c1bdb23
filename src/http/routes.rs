//! Every route in one table: the machine endpoints first (no session, no cookies), then the
//! pages people use (behind the session middleware). `startup` mounts both.

use super::{api, oauth, web as pages};
use actix_web::web;

/// Endpoints for OAuth clients, resource servers and probes; the token endpoint first.
pub fn machine(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/token", web::post().to(oauth::token::token))
        .route("/healthz", web::get().to(pages::healthz))
        .configure(api)
        .route("/oauth/revoke", web::post().to(oauth::revoke::revoke))
        .route(
            "/oauth/introspect",
            web::post().to(oauth::introspect::introspect),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(oauth::metadata::metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            web::get().to(oauth::metadata::openid_configuration),
        )
        .route("/oauth/jwks", web::get().to(oauth::openid::jwks))
        .service(
            web::resource("/oauth/userinfo")
                .get(oauth::openid::userinfo)
                .post(oauth::openid::userinfo),
        )
        .route("/readyz", web::get().to(pages::readyz))
        .route("/static/app.css", web::get().to(pages::stylesheet))
        .route("/static/app.js", web::get().to(pages::script));
}

/// The JSON API: every route here is in the OpenAPI document (`api::openapi`), and the
/// document lists nothing else; a test checks both.
fn api(cfg: &mut web::ServiceConfig) {
    // One resource per path, so a method it lacks is 405 rather than 404.
    cfg.service(web::resource("/api/v1/me").get(api::me))
        .service(web::resource("/api/v1/apps").get(api::my_apps))
        .service(
            web::resource("/api/v1/apps/{client_id}/secrets")
                .get(api::secrets::list)
                .post(api::secrets::create),
        )
        .service(
            web::resource("/api/v1/apps/{client_id}/secrets/{id}").delete(api::secrets::revoke),
        )
        .service(
            web::resource("/api/v1/apps/{client_id}/keys")
                .get(api::keys::list)
                .post(api::keys::create),
        )
        .service(web::resource("/api/v1/apps/{client_id}/keys/{id}").delete(api::keys::revoke))
        .service(web::resource("/api/v1/openapi.json").get(api::openapi::document));
}

/// Pages people use, behind the session middleware.
pub fn browser(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::home))
        .route("/signup", web::get().to(pages::accounts::signup_form))
        .route("/signup", web::post().to(pages::accounts::signup))
        .route("/login", web::get().to(pages::accounts::login_form))
        .route("/login", web::post().to(pages::accounts::login))
        .route("/logout", web::post().to(pages::accounts::logout))
        .route(
            "/login/two-factor",
            web::get().to(pages::second_step::second_step_form),
        )
        .route(
            "/login/two-factor",
            web::post().to(pages::second_step::second_step),
        )
        .route(
            "/login/two-factor/passkey/options",
            web::post().to(pages::passkeys::second_factor_options),
        )
        .route(
            "/login/two-factor/passkey",
            web::post().to(pages::passkeys::second_factor),
        )
        .route(
            "/login/passkey/options",
            web::post().to(pages::passkeys::sign_in_options),
        )
        .route("/login/passkey", web::post().to(pages::passkeys::sign_in))
        .route(
            "/forgot-password",
            web::get().to(pages::account_links::forgot_form),
        )
        .route(
            "/forgot-password",
            web::post().to(pages::account_links::forgot),
        )
        .route(
            "/reset-password",
            web::get().to(pages::account_links::reset_form),
        )
        .route(
            "/reset-password",
            web::post().to(pages::account_links::reset),
        )
        .route(
            "/verify-email",
            web::get().to(pages::account_links::verify_form),
        )
        .route(
            "/verify-email",
            web::post().to(pages::account_links::verify),
        )
        .route(
            "/account/verify-email/resend",
            web::post().to(pages::account_links::resend),
        )
        .route("/account/security", web::get().to(pages::security::show))
        .route(
            "/account/security/authenticator",
            web::get().to(pages::security::authenticator_form),
        )
        .route(
            "/account/security/authenticator",
            web::post().to(pages::security::confirm_authenticator),
        )
        .route(
            "/account/security/recovery-codes",
            web::post().to(pages::security::new_recovery_codes),
        )
        .route(
            "/account/security/two-factor/disable",
            web::post().to(pages::security::turn_off),
        )
        .route(
            "/account/security/passkeys/options",
            web::post().to(pages::passkeys::registration_options),
        )
        .route(
            "/account/security/passkeys",
            web::post().to(pages::passkeys::add),
        )
        .route(
            "/account/security/passkeys/{passkey_id}/remove",
            web::post().to(pages::passkeys::remove),
        )
        .route(
            "/account/confirm-access",
            web::get().to(pages::security::confirm_access_form),
        )
        .route(
            "/account/confirm-access",
            web::post().to(pages::security::confirm_access),
        )
        .route(
            "/account/password",
            web::get().to(pages::accounts::password_form),
        )
        .route(
            "/account/password",
            web::post().to(pages::accounts::change_password),
        )
        .route(
            "/account/sessions",
            web::get().to(pages::accounts::sessions),
        )
        .route(
            "/account/sessions/end-others",
            web::post().to(pages::accounts::end_other_sessions),
        )
        .route(
            "/account/sessions/{session_id}/end",
            web::post().to(pages::accounts::end_session),
        )
        .route("/apps", web::get().to(pages::apps::list))
        .route("/apps", web::post().to(pages::apps::create))
        .route("/apps/new", web::get().to(pages::apps::new_form))
        .route("/teams", web::get().to(pages::teams::list))
        .route("/teams", web::post().to(pages::teams::create))
        .route("/teams/new", web::get().to(pages::teams::new_form))
        // Static paths before the patterns: the router tries routes in order, and a pattern
        // costs a regular expression match.
        .route("/admin", web::get().to(pages::admin::all_apps))
        .route("/admin/stale", web::get().to(pages::admin::stale))
        .route("/admin/policy", web::get().to(pages::policy::show))
        .route("/admin/policy", web::post().to(pages::policy::save))
        .route("/admin/export.csv", web::get().to(pages::admin::export_csv))
        .route(
            "/admin/tokens",
            web::get().to(pages::api_tokens::admin_list),
        )
        .route(
            "/admin/tokens/{id}/revoke",
            web::post().to(pages::api_tokens::admin_revoke),
        )
        .route("/account/tokens", web::get().to(pages::api_tokens::list))
        .route("/account/tokens", web::post().to(pages::api_tokens::create))
        .route(
            "/account/tokens/{id}/revoke",
            web::post().to(pages::api_tokens::revoke),
        )
        .route(
            "/admin/secrets/{secret_id}/revoke",
            web::get().to(pages::admin::confirm_revoke),
        )
        .route(
            "/admin/secrets/{secret_id}/revoke",
            web::post().to(pages::admin::revoke),
        )
        .route("/apps/{id}", web::get().to(pages::apps::show))
        .route("/apps/{id}/move", web::post().to(pages::apps::move_to_team))
        .route(
            "/apps/{id}/redirect-uris",
            web::get().to(pages::apps::redirect_uris_form),
        )
        .route(
            "/apps/{id}/redirect-uris",
            web::post().to(pages::apps::save_redirect_uris),
        )
        .route("/apps/{id}/keys", web::post().to(pages::keys::add))
        .route("/apps/{id}/keys/new", web::get().to(pages::keys::new_form))
        .route(
            "/apps/{id}/keys/{key_id}/revoke",
            web::get().to(pages::keys::confirm_revoke),
        )
        .route(
            "/apps/{id}/keys/{key_id}/revoke",
            web::post().to(pages::keys::revoke),
        )
        .route("/apps/{id}/webhooks", web::post().to(pages::webhooks::add))
        .route(
            "/apps/{id}/webhooks/new",
            web::get().to(pages::webhooks::new_form),
        )
        .route(
            "/apps/{id}/webhooks/{webhook_id}/remove",
            web::post().to(pages::webhooks::remove),
        )
        .route(
            "/apps/{id}/secrets",
            web::post().to(pages::secrets::generate),
        )
        .route(
            "/apps/{id}/secrets/new",
            web::get().to(pages::secrets::confirm_generate),
        )
        .route(
            "/apps/{id}/secrets/{secret_id}/revoke",
            web::get().to(pages::secrets::confirm_revoke),
        )
        .route(
            "/apps/{id}/secrets/{secret_id}/revoke",
            web::post().to(pages::secrets::revoke),
        )
        .route(
            "/apps/{id}/secrets/{secret_id}",
            web::get().to(pages::secrets::show),
        )
        .route(
            "/apps/{id}/secrets/{secret_id}/label",
            web::post().to(pages::secrets::set_label),
        )
        .route(
            "/apps/{id}/secrets/{secret_id}/schedule",
            web::post().to(pages::secrets::schedule),
        )
        .route("/teams/{id}", web::get().to(pages::teams::show))
        .route(
            "/teams/{id}/invitations",
            web::post().to(pages::team_members::invite),
        )
        .route(
            "/teams/{id}/invitations/{invitation_id}/cancel",
            web::post().to(pages::team_members::cancel_invitation),
        )
        .route(
            "/teams/{id}/members/{user_id}/role",
            web::post().to(pages::team_members::change_role),
        )
        .route(
            "/teams/{id}/members/{user_id}/remove",
            web::post().to(pages::team_members::remove_member),
        )
        .route(
            "/teams/{id}/leave",
            web::post().to(pages::team_members::leave),
        )
        .route("/teams/{id}/rename", web::post().to(pages::teams::rename))
        .route(
            "/teams/{id}/delete",
            web::get().to(pages::teams::confirm_delete),
        )
        .route("/teams/{id}/delete", web::post().to(pages::teams::delete))
        .route("/authorized-apps", web::get().to(pages::authorized::list))
        .route(
            "/authorized-apps/{app_id}/revoke",
            web::post().to(pages::authorized::revoke),
        )
        .route(
            "/oauth/authorize",
            web::get().to(oauth::authorize::authorize),
        )
        .route("/oauth/authorize", web::post().to(oauth::authorize::decide));
}
