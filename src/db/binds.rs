//! Bound parameters for the SQL that `aggregates` writes by hand: every value goes to the
//! database as a parameter, never as text in the statement.
//!
//! Placeholders are numbered by the order of binding, not by where they stand in the text
//! (`$n` on PostgreSQL, `?n` on SQLite, which both read so), so that a statement can be
//! assembled with `format!` in whatever order reads best.

use chrono::NaiveDate;
use diesel::QueryResult;
use diesel::deserialize::QueryableByName;
use diesel::query_builder::BoxedSqlQuery;
use diesel::query_dsl::RunQueryDsl;
use diesel::sql_types::{BigInt, Date, Text};

use super::DbConnection;

type Backend = <DbConnection as diesel::Connection>::Backend;

enum Value {
    Text(String),
    BigInt(i64),
    Date(NaiveDate),
}

/// The values bound so far to a statement for one backend.
pub struct Binds {
    postgres: bool,
    values: Vec<Value>,
}

impl Binds {
    pub fn for_connection(conn: &DbConnection) -> Binds {
        Binds {
            postgres: matches!(conn, DbConnection::Postgres(_)),
            values: Vec::new(),
        }
    }

    fn placeholder(&mut self, value: Value) -> String {
        self.values.push(value);
        let number = self.values.len();
        if self.postgres {
            format!("${number}")
        } else {
            format!("?{number}")
        }
    }

    /// The placeholder of a text.
    pub fn text(&mut self, text: &str) -> String {
        self.placeholder(Value::Text(text.to_string()))
    }

    /// The placeholders of a non-empty list of texts, comma separated, for `IN (…)`.
    pub fn texts(&mut self, texts: &[String]) -> String {
        texts
            .iter()
            .map(|text| self.text(text))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn big_int(&mut self, number: i64) -> String {
        self.placeholder(Value::BigInt(number))
    }

    pub fn date(&mut self, date: NaiveDate) -> String {
        self.placeholder(Value::Date(date))
    }

    /// Runs `sql`, whose placeholders are these, and loads its rows.
    pub fn load<T>(self, conn: &mut DbConnection, sql: String) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<Backend> + 'static,
    {
        let mut query: BoxedSqlQuery<'static, Backend, diesel::query_builder::SqlQuery> =
            diesel::sql_query(sql).into_boxed();
        for value in self.values {
            query = match value {
                Value::Text(text) => query.bind::<Text, _>(text),
                Value::BigInt(number) => query.bind::<BigInt, _>(number),
                Value::Date(date) => query.bind::<Date, _>(date),
            };
        }
        query.load(conn)
    }
}
