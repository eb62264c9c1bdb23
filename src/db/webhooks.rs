use super::schema::webhooks;
use super::Conn;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: i32,
    pub app_id: i32,
    pub url: String,
    pub key_id: String,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = webhooks)]
pub struct NewWebhook<'a> {
    pub app_id: i32,
    pub url: &'a str,
    pub key_id: &'a str,
    pub created_at: NaiveDateTime,
    pub created_by: Option<i32>,
}

pub fn insert(conn: &mut Conn, new: &NewWebhook) -> QueryResult<i32> {
    diesel::insert_into(webhooks::table)
        .values(new)
        .returning(webhooks::id)
        .get_result(conn)
}

pub fn list_for_app(conn: &mut Conn, app_id: i32) -> QueryResult<Vec<WebhookRow>> {
    webhooks::table
        .filter(webhooks::app_id.eq(app_id))
        .order(webhooks::id.asc())
        .select(WebhookRow::as_select())
        .load(conn)
}

/// Removes one of the app's endpoints; `false` if it had no such endpoint.
pub fn delete(conn: &mut Conn, app_id: i32, webhook_id: i32) -> QueryResult<bool> {
    diesel::delete(
        webhooks::table
            .filter(webhooks::id.eq(webhook_id))
            .filter(webhooks::app_id.eq(app_id)),
    )
    .execute(conn)
    .map(|n| n == 1)
}
