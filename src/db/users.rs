use super::schema::users;
use super::Conn;
use crate::domain::Account;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i32,
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub email_verified_at: Option<NaiveDateTime>,
    pub two_factor_since: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub email_verified_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut Conn, new: &NewUser) -> QueryResult<User> {
    // Diesel's MultiConnection cannot return a `Selectable` struct; read it back by id.
    let id = diesel::insert_into(users::table)
        .values(new)
        .returning(users::id)
        .get_result::<i32>(conn)?;
    users::table.find(id).select(User::as_select()).first(conn)
}

pub fn find_by_email(conn: &mut Conn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// On every signed-in request, hence on the connection's own backend.
pub fn find(conn: &mut Conn, id: i32) -> QueryResult<Option<User>> {
    on_backend!(conn, c => users::table
        .find(id)
        .select(User::as_select())
        .first(c)
        .optional())
}

/// Sets a new password.
pub fn change_password(conn: &mut Conn, id: i32, password_hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(password_hash))
        .execute(conn)
        .map(drop)
}

/// Makes an existing account an admin and sets its password.
pub fn promote_to_admin(conn: &mut Conn, id: i32, password_hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::is_admin.eq(true),
            users::password_hash.eq(password_hash),
        ))
        .execute(conn)
        .map(drop)
}

impl From<User> for Account {
    fn from(u: User) -> Self {
        Account {
            id: u.id,
            email: u.email,
            is_admin: u.is_admin,
            session_id: None,
            email_verified: u.email_verified_at.is_some(),
            two_factor: u.two_factor_since.is_some(),
            authenticated_at: None,
        }
    }
}

/// Records that the account's address is proven.
pub fn mark_email_verified(conn: &mut Conn, id: i32, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::email_verified_at.is_null()),
    )
    .set(users::email_verified_at.eq(now))
    .execute(conn)
    .map(drop)
}

/// The accounts whose address is not proven.
pub fn unverified(conn: &mut Conn) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::email_verified_at.is_null())
        .select(User::as_select())
        .load(conn)
}
