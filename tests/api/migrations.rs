//! The two migration folders say the same thing, and `src/db/schema.rs` describes the
//! database that each of them makes.

use std::collections::BTreeMap;
use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::backend_tests;
use crate::common::{Backend, TestApp};

/// The only lines in which the PostgreSQL and SQLite migrations may differ: (PostgreSQL,
/// SQLite). Every other line is the same in both.
const DIALECT_DIFFERENCES: [(&str, &str); 4] = [
    (
        "-- The whole schema of uppfoljning. migrations/sqlite holds the same schema in SQLite's words.",
        "-- The whole schema of uppfoljning. migrations/postgres holds the same schema in PostgreSQL's words.",
    ),
    // A generated 64-bit key: SQLite's rowid alias must be spelled INTEGER.
    (
        "    id BIGSERIAL PRIMARY KEY,",
        "    id INTEGER PRIMARY KEY AUTOINCREMENT,",
    ),
    // The time now in UTC, as each backend stores a TIMESTAMP.
    (
        "SELECT version, CAST(CURRENT_TIMESTAMP AT TIME ZONE 'UTC' AS TIMESTAMP) FROM data_version;",
        "SELECT version, STRFTIME('%Y-%m-%d %H:%M:%f', 'now') FROM data_version;",
    ),
    // A table built again with its ids: PostgreSQL's sequence is set past them, SQLite's
    // AUTOINCREMENT follows them by itself.
    (
        "SELECT setval(pg_get_serial_sequence('value_revisions', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM value_revisions), false);",
        "-- AUTOINCREMENT goes on after the largest id copied (sqlite_sequence follows the table).",
    ),
];

/// The migrations that build a table WITHOUT ROWID on SQLite (its rows kept in its primary
/// key's b-tree; PostgreSQL has no rowid to leave out): only in these may a table's closing
/// line differ.
const WITHOUT_ROWID: [&str; 1] = ["2026-12-04-000010_value_rows_kept_whole_by_their_writer/"];

/// Every file of every migration, by its path below the backend's folder.
fn migration_files(backend: &str) -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files = BTreeMap::new();
    for migration in std::fs::read_dir(&root).expect("migrations folder") {
        let migration = migration.expect("migration").path();
        for file in std::fs::read_dir(&migration).expect("migration folder") {
            let file = file.expect("file").path();
            let name = file
                .strip_prefix(&root)
                .expect("below root")
                .to_string_lossy()
                .into_owned();
            files.insert(name, std::fs::read_to_string(&file).expect("readable"));
        }
    }
    files
}

#[test]
fn the_migrations_of_both_backends_differ_only_in_dialect() {
    let postgres = migration_files("postgres");
    let sqlite = migration_files("sqlite");
    assert_eq!(
        postgres.keys().collect::<Vec<_>>(),
        sqlite.keys().collect::<Vec<_>>(),
        "the same migrations, with the same files, for both backends"
    );
    let mut differences = Vec::new();
    for (name, postgres_text) in &postgres {
        let sqlite_text = &sqlite[name];
        let (p_lines, s_lines): (Vec<_>, Vec<_>) = (
            postgres_text.lines().collect(),
            sqlite_text.lines().collect(),
        );
        if p_lines.len() != s_lines.len() {
            differences.push(format!(
                "{name}: {} lines on PostgreSQL, {} on SQLite",
                p_lines.len(),
                s_lines.len()
            ));
            continue;
        }
        for (number, (p, s)) in p_lines.iter().zip(&s_lines).enumerate() {
            let without_rowid = (*p, *s) == (");", ") WITHOUT ROWID;")
                && WITHOUT_ROWID.iter().any(|m| name.starts_with(m));
            if p != s && !DIALECT_DIFFERENCES.contains(&(*p, *s)) && !without_rowid {
                differences.push(format!(
                    "{name}:{}: PostgreSQL `{p}`, SQLite `{s}`",
                    number + 1
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "differences that are not listed dialect differences:\n{}",
        differences.join("\n")
    );
}

/// One column as the database or `schema.rs` describes it.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Column {
    name: String,
    /// Diesel's name for the type: BigInt, Text, Bool, Timestamp or Date.
    sql_type: String,
    nullable: bool,
}

/// The tables of `schema.rs`, read from its `diesel::table!` blocks.
fn declared_tables() -> BTreeMap<String, Vec<Column>> {
    let source = include_str!("../../src/db/schema.rs");
    let mut tables = BTreeMap::new();
    for block in source.split("diesel::table! {").skip(1) {
        let body = block.split("\n}").next().expect("a table block");
        let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
        let header = lines.next().expect("the table's name");
        let name = header.split_whitespace().next().expect("name").to_string();
        let mut sql_name = None;
        let columns = lines
            .filter_map(|line| {
                if let Some(name) = line.strip_prefix("#[sql_name = \"") {
                    sql_name = Some(name.trim_end_matches("\"]").to_string());
                    return None;
                }
                let (column, sql_type) = line.trim_end_matches(',').split_once(" -> ")?;
                Some((
                    sql_name.take().unwrap_or_else(|| column.to_string()),
                    sql_type,
                ))
            })
            .map(|(column, sql_type)| {
                let (sql_type, nullable) = match sql_type.strip_prefix("Nullable<") {
                    Some(inner) => (inner.trim_end_matches('>'), true),
                    None => (sql_type, false),
                };
                Column {
                    name: column,
                    sql_type: sql_type.to_string(),
                    nullable,
                }
            })
            .collect();
        tables.insert(name, columns);
    }
    tables
}

/// Diesel's name for a column type as the backend reports it.
fn diesel_type(backend: Backend, reported: &str) -> String {
    let name = match (backend, reported) {
        (Backend::Postgres, "bigint") => "BigInt",
        (Backend::Postgres, "text") => "Text",
        (Backend::Postgres, "boolean") => "Bool",
        (Backend::Postgres, "timestamp without time zone") => "Timestamp",
        (Backend::Postgres, "date") => "Date",
        // SQLite's INTEGER is 64 bits; a rowid alias must be spelled so.
        (Backend::Sqlite, "BIGINT" | "INTEGER") => "BigInt",
        (Backend::Sqlite, "TEXT") => "Text",
        (Backend::Sqlite, "BOOLEAN") => "Bool",
        (Backend::Sqlite, "TIMESTAMP") => "Timestamp",
        (Backend::Sqlite, "DATE") => "Date",
        (_, other) => return format!("unmapped {other}"),
    };
    name.to_string()
}

#[derive(QueryableByName)]
struct ReportedColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = BigInt)]
    nullable: i64,
}

/// The tables of the migrated database, columns in their order.
fn migrated_tables(t: &TestApp, backend: Backend) -> BTreeMap<String, Vec<Column>> {
    let query = match backend {
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                    data_type::text AS data_type, \
                    CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END::bigint AS nullable \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
             ORDER BY table_name, ordinal_position"
        }
        // A primary key column may be NULL in SQLite unless declared NOT NULL, except the
        // rowid alias; schema.rs is right to call key columns not null either way.
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                    CASE WHEN p.\"notnull\" = 0 AND p.pk = 0 THEN 1 ELSE 0 END AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
               AND m.name <> '__diesel_schema_migrations' \
             ORDER BY m.name, p.cid"
        }
    };
    let rows: Vec<ReportedColumn> = diesel::sql_query(query)
        .load(&mut *t.conn())
        .expect("the database describes its tables");
    let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    for row in rows {
        tables.entry(row.table_name).or_default().push(Column {
            name: row.column_name,
            sql_type: diesel_type(backend, &row.data_type),
            nullable: row.nullable == 1,
        });
    }
    tables
}

async fn schema_rs_describes_the_migrated_database(backend: Backend) {
    let t = TestApp::start(backend);
    let migrated = migrated_tables(&t, backend);
    let declared = declared_tables();
    assert_eq!(
        migrated.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (table, columns) in &declared {
        assert_eq!(
            &migrated[table], columns,
            "{table}: schema.rs and the migrated database ({backend:?}) differ"
        );
    }
}

backend_tests!(schema_rs_describes_the_migrated_database);
