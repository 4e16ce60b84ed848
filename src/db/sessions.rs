//! Sign-ins begun and sessions, kept by hashes of their secrets, shared by every instance.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{sessions, sign_ins};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_ins)]
pub struct SignInRow {
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: String,
    pub issuer: String,
    pub subject: String,
    pub person: String,
    pub role: String,
    pub region: Option<String>,
    pub id_token: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

/// Stores a sign-in begun, and drops those begun before `stale_before` that were never
/// finished.
pub fn begin(
    conn: &mut DbConnection,
    row: &SignInRow,
    stale_before: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(sign_ins::table.filter(sign_ins::created_at.lt(stale_before))).execute(conn)?;
    diesel::insert_into(sign_ins::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Takes the sign-in begun with this state: it is gone afterwards, so a state is used once.
/// Only the transaction whose delete removed the row has it: two instances reading the same
/// row at once cannot both go on (the second delete waits for the first and finds none).
pub fn take(conn: &mut DbConnection, state_hash: &str) -> QueryResult<Option<SignInRow>> {
    let found = sign_ins::table
        .find(state_hash)
        .select(SignInRow::as_select())
        .first(conn)
        .optional()?;
    let deleted = diesel::delete(sign_ins::table.find(state_hash)).execute(conn)?;
    Ok(found.filter(|_| deleted == 1))
}

/// Stores a new session, and drops every session that has ended by `now`.
pub fn start(conn: &mut DbConnection, row: &SessionRow, now: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id_hash: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(id_hash)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

/// Marks the session used at `now`.
pub fn touch(conn: &mut DbConnection, id_hash: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(sessions::table.find(id_hash))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Ends the session; the ended session, if there was one.
pub fn end(conn: &mut DbConnection, id_hash: &str) -> QueryResult<Option<SessionRow>> {
    let found = find(conn, id_hash)?;
    diesel::delete(sessions::table.find(id_hash)).execute(conn)?;
    Ok(found)
}

/// Gives every session of the account (issuer and `sub`) the role, län and name of its
/// newest sign-in.
pub fn follow(conn: &mut DbConnection, newest: &SessionRow) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::issuer.eq(&newest.issuer))
            .filter(sessions::subject.eq(&newest.subject)),
    )
    .set((
        sessions::role.eq(&newest.role),
        sessions::region.eq(&newest.region),
        sessions::person.eq(&newest.person),
    ))
    .execute(conn)
}

/// Ends every session of the account (issuer and `sub`); how many there were.
pub fn end_account(conn: &mut DbConnection, issuer: &str, subject: &str) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::issuer.eq(issuer))
            .filter(sessions::subject.eq(subject)),
    )
    .execute(conn)
}
