//! The value tables keep one foreign key (a value's project); the writer keeps the rest
//! (migration `value_rows_kept_whole_by_their_writer`). Held to what the dropped keys said
//! after every kind of write: each value's indicator, half-year and submission exist, and
//! each revision and enterprise belongs to a stored value.

use actix_web::test;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::json;

use crate::accepted::{Expect, every_kind_of_write, load_with_d};
use crate::aggregates::{X, Y, Z, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, post_json, send};
use crate::dashboard::load_demo;
use crate::workbooks::SUBMISSIONS;
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    every_kind_of_write_keeps_the_value_tables_whole,
    the_demo_portfolio_keeps_the_value_tables_whole,
);

#[derive(QueryableByName, Debug)]
struct Broken {
    #[diesel(sql_type = Text)]
    what: String,
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

/// Rows whose key names nothing, by what the dropped foreign key said.
const BROKEN: &str = "\
    SELECT 'a value of no indicator' AS what, COUNT(*) AS rows FROM indicator_values v \
      LEFT JOIN indicators i ON i.code = v.indicator WHERE i.code IS NULL \
    UNION ALL SELECT 'a value of no half-year', COUNT(*) FROM indicator_values v \
      LEFT JOIN periods p ON p.id = v.period WHERE p.id IS NULL \
    UNION ALL SELECT 'a value of no submission', COUNT(*) FROM indicator_values v \
      LEFT JOIN submissions s ON s.id = v.submission_id \
      WHERE v.submission_id IS NOT NULL AND s.id IS NULL \
    UNION ALL SELECT 'a revision of no value', COUNT(*) FROM value_revisions r \
      LEFT JOIN indicator_values v ON v.project_id = r.project_id \
        AND v.indicator = r.indicator AND v.period = r.period \
      WHERE v.project_id IS NULL \
    UNION ALL SELECT 'an enterprise of no value', COUNT(*) FROM value_entities e \
      LEFT JOIN indicator_values v ON v.project_id = e.project_id \
        AND v.indicator = e.indicator AND v.period = e.period \
      WHERE v.project_id IS NULL";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

fn count(t: &TestApp, table: &str) -> i64 {
    diesel::sql_query(format!("SELECT COUNT(*) AS rows FROM {table}"))
        .get_result::<Count>(&mut t.conn())
        .expect("counted")
        .rows
}

fn broken(t: &TestApp) -> Vec<String> {
    let rows: Vec<Broken> = diesel::sql_query(BROKEN)
        .load(&mut t.conn())
        .expect("the check runs");
    rows.into_iter()
        .filter(|row| row.rows > 0)
        .map(|row| format!("{} ({} rows)", row.what, row.rows))
        .collect()
}

async fn every_kind_of_write_keeps_the_value_tables_whole(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load_with_d(&t, &app).await;
    assert_eq!(broken(&t), Vec::<String>::new(), "after the load");
    let revisions_before = count(&t, "value_revisions");
    for (name, request, expect) in every_kind_of_write(&t, &app).await {
        let reply = send(&app, request).await;
        if matches!(expect, Expect::Allowed) {
            assert!(reply.status.is_success(), "{name}: {}", reply.status);
        }
        assert_eq!(broken(&t), Vec::<String>::new(), "after {name}");
    }
    assert!(
        count(&t, "value_revisions") > revisions_before,
        "the writes stored values"
    );
    // A distinct value's enterprises replaced, twice.
    let token = t.token(Role::Region, Some("07"));
    let orgnr = |list: &[&str]| json!({"project_ref": "A", "indicator": "RCO01", "period": "2026H1", "entities": list});
    for body in [
        json!({"values": [orgnr(&[X, Y])]}),
        json!({"values": [orgnr(&[Z])]}),
        json!({"values": [value("A", "RCR01", "2026H1", json!(0.5)), orgnr(&[X])]}),
    ] {
        let reply = send(&app, post_json(SUBMISSIONS, &token, &body)).await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(broken(&t), Vec::<String>::new(), "after {body}");
    }
    // The check sees what a dropped key would have refused.
    diesel::sql_query(
        "INSERT INTO value_entities (project_id, indicator, period, orgnr) \
         SELECT project_id, indicator, '2019H1', orgnr FROM value_entities LIMIT 1",
    )
    .execute(&mut t.conn())
    .expect("an enterprise of no value");
    assert_eq!(broken(&t), vec!["an enterprise of no value (1 rows)"]);
}

/// The demo portfolio, stored in chunks of 50,000 items through the same checks and
/// storage as a submission: new projects and their values, enterprises and narratives.
async fn the_demo_portfolio_keeps_the_value_tables_whole(backend: Backend) {
    let t = TestApp::start(backend);
    load_demo(&t);
    assert!(count(&t, "value_entities") > 0, "enterprises stored");
    assert_eq!(
        count(&t, "value_revisions"),
        count(&t, "indicator_values"),
        "one revision for each value stored once"
    );
    assert_eq!(broken(&t), Vec::<String>::new());
}
