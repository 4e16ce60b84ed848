//! Conditional requests: ETag, Last-Modified and 304 on aggregates (every format),
//! completeness, reports and snapshots; a new ETag after a write; one per question.

use std::time::Duration;

use actix_web::test::{self, TestRequest};
use serde_json::json;

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, get, post_json, send};
use crate::publishing::{publish_request, published, snapshot};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    aggregates_in_every_format_answer_304_until_a_write,
    completeness_reports_and_the_snapshot_list_answer_304_until_a_write,
    different_questions_and_callers_never_share_an_etag,
    if_modified_since_answers_304_only_when_no_write_came_after,
    a_snapshot_never_changes_once_published_and_may_then_be_kept,
    pxweb_data_answers_304_until_a_snapshot_is_published,
    a_report_keeps_its_revision_etag_for_if_match,
    if_none_match_any_never_answers_304,
);

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .to_str()
        .unwrap()
}

fn asking(path: &str, token: &str, name: &str, value: &str) -> TestRequest {
    get(path, token).insert_header((name.to_string(), value.to_string()))
}

/// Asks `path`, then again with its ETag (304, no body, the same validators), and returns
/// the ETag.
async fn etag_holds(app: &impl TestService, path: &str, token: &str, cache: &str) -> String {
    let first = send(app, get(path, token)).await;
    first.ok();
    let etag = header(&first, "etag").to_string();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );
    assert_eq!(header(&first, "cache-control"), cache, "{path}");
    let again = send(app, asking(path, token, "if-none-match", &etag)).await;
    assert_eq!(again.status, 304, "{path}");
    assert!(again.body.is_empty());
    assert_eq!(header(&again, "etag"), etag);
    assert_eq!(
        header(&again, "last-modified"),
        header(&first, "last-modified")
    );
    assert_eq!(header(&again, "cache-control"), cache);
    // Among others, weak or not, it is still found; `*` is judged before the question is
    // checked, so it gets the whole answer.
    let listed = format!("\"other\", W/{etag}");
    let listed = send(app, asking(path, token, "if-none-match", &listed)).await;
    assert_eq!(listed.status, 304, "{path}");
    let any = send(app, asking(path, token, "if-none-match", "*")).await;
    any.ok();
    let other = send(app, asking(path, token, "if-none-match", "\"other\"")).await;
    other.ok();
    etag
}

const REVALIDATE: &str = "private, no-cache";

async fn write_a_value(t: &TestApp, app: &impl TestService, figure: i64) {
    let body = json!({"values": [value("A", "RCR01", "2026H1", json!(figure))]});
    send(
        app,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &body,
        ),
    )
    .await
    .ok();
}

async fn aggregates_in_every_format_answer_304_until_a_write(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let national = t.token(Role::National, None);
    let question = "/api/v1/aggregates?indicator=RCR01&period=2026&group_by=region";
    let mut before = Vec::new();
    for format in ["json", "csv", "xlsx", "json-stat2"] {
        let path = format!("{question}&format={format}");
        before.push(etag_holds(&app, &path, &national, REVALIDATE).await);
    }
    let mut distinct = before.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "one ETag per format: {before:?}");
    write_a_value(&t, &app, 7).await;
    for (format, old) in ["json", "csv", "xlsx", "json-stat2"].iter().zip(&before) {
        let path = format!("{question}&format={format}");
        let after = send(&app, asking(&path, &national, "if-none-match", old)).await;
        after.ok();
        assert!(!after.body.is_empty());
        assert_ne!(
            header(&after, "etag"),
            old,
            "{format}: a new ETag after a write"
        );
    }
}

async fn completeness_reports_and_the_snapshot_list_answer_304_until_a_write(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let scheduler = t.token(Role::Scheduler, None);
    let paths = [
        "/api/v1/completeness?period=2026",
        "/api/v1/reports?period=2026H1",
        "/api/v1/reports?period=2026H1&state=open",
        "/api/v1/snapshots",
    ];
    let mut before = Vec::new();
    for path in paths {
        before.push(etag_holds(&app, path, &scheduler, REVALIDATE).await);
    }
    // A snapshot stored is a write the list shows.
    let snapshot = send(
        &app,
        post_json(
            "/api/v1/snapshots",
            &scheduler,
            &json!({"period": "2026H1", "label": "Delrapport"}),
        ),
    )
    .await;
    assert_eq!(snapshot.status, 201);
    let list = send(
        &app,
        asking("/api/v1/snapshots", &scheduler, "if-none-match", &before[3]),
    )
    .await;
    assert_eq!(list.ok().json().as_array().unwrap().len(), 1);
    write_a_value(&t, &app, 7).await;
    for (path, old) in paths.iter().zip(&before) {
        let after = send(&app, asking(path, &scheduler, "if-none-match", old)).await;
        after.ok();
        assert_ne!(header(&after, "etag"), old, "{path}");
    }
    // A period's lock is no data version, but what completeness and reports list rests on
    // it: their ETags change.
    let mut held = Vec::new();
    for path in &paths[..3] {
        held.push(etag_holds(&app, path, &scheduler, REVALIDATE).await);
    }
    let locked = send(
        &app,
        post_json("/api/v1/periods/2026H1/lock", &t.admin(), &json!({})),
    )
    .await;
    locked.ok();
    for (path, old) in paths[..3].iter().zip(&held) {
        let after = send(&app, asking(path, &scheduler, "if-none-match", old)).await;
        after.ok();
        assert_ne!(header(&after, "etag"), old, "{path} after a lock");
    }
    // A refused write is no write: the ETag stays.
    let current = etag_holds(&app, paths[0], &scheduler, REVALIDATE).await;
    let refused = send(
        &app,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &json!({"values": [value("A", "RCR01", "2026H9", json!(1))]}),
        ),
    )
    .await;
    assert!(refused.status.is_client_error());
    let still = send(
        &app,
        asking(paths[0], &scheduler, "if-none-match", &current),
    )
    .await;
    assert_eq!(still.status, 304);
}

async fn different_questions_and_callers_never_share_an_etag(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let national = t.token(Role::National, None);
    let kronoberg = t.token(Role::Region, Some("07"));
    let kalmar = t.token(Role::Region, Some("08"));
    let mut tags = Vec::new();
    for (path, token) in [
        ("/api/v1/aggregates?indicator=RCR01&period=2026", &national),
        (
            "/api/v1/aggregates?indicator=RCR01&period=2026H1",
            &national,
        ),
        ("/api/v1/aggregates?indicator=RCO01&period=2026", &national),
        (
            "/api/v1/aggregates?indicator=RCR01&period=2026&group_by=region",
            &national,
        ),
        (
            "/api/v1/aggregates?indicator=RCR01&period=2026&region=07",
            &national,
        ),
        (
            "/api/v1/aggregates?indicator=RCR01&period=2026&reports=accepted",
            &national,
        ),
        ("/api/v1/completeness?period=2026", &national),
        ("/api/v1/completeness?period=2026", &kronoberg),
        ("/api/v1/completeness?period=2026", &kalmar),
        ("/api/v1/completeness?period=2026H1", &national),
        ("/api/v1/reports?period=2026H1", &national),
        ("/api/v1/reports?period=2026H1", &kronoberg),
        ("/api/v1/reports?period=2026H2", &national),
        ("/api/v1/snapshots", &national),
    ] {
        let reply = send(&app, get(path, token)).await;
        reply.ok();
        tags.push(header(&reply, "etag").to_string());
    }
    let mut distinct = tags.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), tags.len(), "{tags:#?}");
    // The same question asked as a set is the same question, with the same ETag.
    let one = send(
        &app,
        get(
            "/api/v1/aggregates?indicator=RCR01&period=2026&region=07,08",
            &national,
        ),
    )
    .await;
    let other = send(
        &app,
        get(
            "/api/v1/aggregates?indicator=RCR01&period=2026&region=08,07,07",
            &national,
        ),
    )
    .await;
    assert_eq!(header(&one, "etag"), header(&other, "etag"));
    // A region's completeness ETag does not open another region's answer.
    let own = send(&app, get("/api/v1/completeness?period=2026", &kronoberg)).await;
    let theirs = send(
        &app,
        asking(
            "/api/v1/completeness?period=2026",
            &kalmar,
            "if-none-match",
            header(&own, "etag"),
        ),
    )
    .await;
    theirs.ok();
}

async fn if_modified_since_answers_304_only_when_no_write_came_after(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    // The load's writes came within a second; one write a second later stands alone in its
    // second, so its Last-Modified names it alone.
    std::thread::sleep(Duration::from_millis(1100));
    write_a_value(&t, &app, 7).await;
    let national = t.token(Role::National, None);
    let paths = [
        "/api/v1/aggregates?indicator=RCR01&period=2026&format=csv",
        "/api/v1/completeness?period=2026",
        "/api/v1/reports?period=2026H1",
        "/api/v1/snapshots",
    ];
    let mut stamps = Vec::new();
    for path in paths {
        let first = send(&app, get(path, &national)).await;
        first.ok();
        let modified = header(&first, "last-modified").to_string();
        let again = send(
            &app,
            asking(path, &national, "if-modified-since", &modified),
        )
        .await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        let earlier = "Thu, 01 Jan 2015 00:00:00 GMT";
        let older = send(&app, asking(path, &national, "if-modified-since", earlier)).await;
        older.ok();
        // An ETag that does not match wins over a date that would.
        let both = send(
            &app,
            asking(path, &national, "if-modified-since", &modified)
                .insert_header(("if-none-match", "\"other\"")),
        )
        .await;
        both.ok();
        stamps.push(modified);
    }
    // A write in the same second as the copy's version is a change all the same.
    write_a_value(&t, &app, 8).await;
    for (path, modified) in paths.iter().zip(&stamps) {
        let after = send(&app, asking(path, &national, "if-modified-since", modified)).await;
        after.ok();
    }
    // Nonsense is no condition.
    let nonsense = send(
        &app,
        asking(paths[0], &national, "if-modified-since", "gestern"),
    )
    .await;
    nonsense.ok();
}

async fn a_snapshot_never_changes_once_published_and_may_then_be_kept(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let scheduler = t.token(Role::Scheduler, None);
    let created = snapshot(&t, &app, "2026H1", "Delrapport").await;
    let path = format!("/api/v1/snapshots/{}", created["id"].as_str().unwrap());
    // A draft's figures never change, but its summary does once, when it is published: it
    // is asked again after every write.
    let draft_tag = etag_holds(&app, &path, &scheduler, REVALIDATE).await;
    write_a_value(&t, &app, 7).await;
    send(&app, asking(&path, &scheduler, "if-none-match", &draft_tag))
        .await
        .ok();
    // Without a token a draft is not there, whatever the client holds.
    let anonymous = |tag: &str| {
        TestRequest::get()
            .uri(&path)
            .insert_header(("if-none-match", tag.to_string()))
    };
    send(&app, anonymous(&draft_tag)).await.problem(404);

    send(&app, publish_request(&created["id"], &t.admin()))
        .await
        .ok();
    let kept = "public, max-age=31536000, immutable";
    let json_tag = etag_holds(&app, &path, &scheduler, kept).await;
    assert_ne!(json_tag, draft_tag);
    let csv_tag = etag_holds(&app, &format!("{path}?format=csv"), &scheduler, kept).await;
    assert_ne!(json_tag, csv_tag);
    // A write changes the figures, never the published snapshot; anyone may keep it.
    write_a_value(&t, &app, 8).await;
    let after = send(&app, asking(&path, &scheduler, "if-none-match", &json_tag)).await;
    assert_eq!(after.status, 304);
    assert_eq!(send(&app, anonymous(&json_tag)).await.status, 304);
    let first = send(&app, get(&path, &scheduler)).await;
    let modified = header(&first, "last-modified").to_string();
    let since = send(
        &app,
        asking(&path, &scheduler, "if-modified-since", &modified),
    )
    .await;
    assert_eq!(since.status, 304);
    let missing = send(
        &app,
        asking(
            "/api/v1/snapshots/no-such-snapshot",
            &scheduler,
            "if-none-match",
            &json_tag,
        ),
    )
    .await;
    missing.problem(404);
}

/// PxWeb data changes only when a snapshot is published: a write elsewhere keeps its ETag,
/// a publication changes it, and two questions never share one.
async fn pxweb_data_answers_304_until_a_snapshot_is_published(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    published(&t, &app, "2026H1", "Delrapport").await;
    let data = |query: &str, tag: Option<&str>| {
        let request = TestRequest::get().uri(&format!("/pxweb/api/v2/tables/RCR01/data?{query}"));
        match tag {
            Some(tag) => request.insert_header(("if-none-match", tag.to_string())),
            None => request,
        }
    };
    let question = "valuecodes[Region]=07&valuecodes[ContentsCode]=value&valuecodes[Tid]=*";
    let first = send(&app, data(question, None)).await;
    first.ok();
    let tag = header(&first, "etag").to_string();
    assert_eq!(header(&first, "cache-control"), "public, no-cache");
    assert!(!header(&first, "last-modified").is_empty());
    let again = send(&app, data(question, Some(&tag))).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = send(
        &app,
        data(
            "valuecodes[Region]=08&valuecodes[ContentsCode]=value&valuecodes[Tid]=*",
            None,
        ),
    )
    .await;
    assert_ne!(header(&other, "etag"), tag);
    let csv = send(&app, data(&format!("{question}&outputFormat=csv"), None)).await;
    assert_ne!(header(&csv, "etag"), tag);
    // A write changes no published figure.
    write_a_value(&t, &app, 9).await;
    assert_eq!(send(&app, data(question, Some(&tag))).await.status, 304);
    // A newer publication of the half-year does.
    published(&t, &app, "2026H1", "Rättelse").await;
    let changed = send(&app, data(question, Some(&tag))).await;
    changed.ok();
    assert_ne!(header(&changed, "etag"), tag);
}

async fn a_report_keeps_its_revision_etag_for_if_match(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let report = "/api/v1/regions/07/reports/2026H1";
    let read = send(&app, get(report, &kronoberg)).await;
    read.ok();
    let etag = header(&read, "etag").to_string();
    assert_eq!(etag, format!("\"{}\"", read.json()["revision"]));
    let signed = send(
        &app,
        post_json(
            &format!("{report}/submit"),
            &kronoberg,
            &json!({"incomplete": true, "comment": "Saknas"}),
        )
        .insert_header(("if-match", etag.as_str())),
    )
    .await;
    signed.ok();
    let stale = send(
        &app,
        post_json(&format!("{report}/withdraw"), &kronoberg, &json!({}))
            .insert_header(("if-match", etag.as_str())),
    )
    .await;
    stale.problem(412);
}

/// `If-None-Match: *` is judged before the question is checked: it gets the whole answer,
/// and a refused question its refusal, never a 304.
async fn if_none_match_any_never_answers_304(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let region = t.token(Role::Region, Some("07"));
    let good = "/api/v1/aggregates?indicator=RCR01&period=2026&group_by=region";
    let answered = send(&app, asking(good, &region, "if-none-match", "*")).await;
    answered.ok();
    assert!(!answered.body.is_empty());
    let unknown = "/api/v1/aggregates?indicator=NOPE&period=2026";
    send(&app, asking(unknown, &region, "if-none-match", "*"))
        .await
        .problem(422);
    crate::publishing::published(&t, &app, "2026H1", "Delrapport").await;
    let refused = send(
        &app,
        TestRequest::get()
            .uri("/pxweb/api/v2/tables/RCR01/data?valuecodes[Nope]=1")
            .insert_header(("if-none-match", "*")),
    )
    .await;
    assert_eq!(refused.status.as_u16(), 400, "{:?}", refused.body);
}
