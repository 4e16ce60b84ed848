//! The PxWeb API 2 over published snapshots, against the shapes of `PxAPI-2.yml` and the
//! snapshots' own figures.

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, post_json, send};
use crate::publishing::{published, snapshot};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    config_names_every_required_field,
    tables_are_listed_searched_and_paged,
    a_table_and_its_metadata_follow_the_specification,
    a_tables_data_equals_the_snapshots_figures,
    selections_placement_and_formats,
    each_half_year_comes_from_the_newest_published_snapshot,
    bad_requests_are_refused_with_the_specifications_problems,
    a_selection_of_more_variables_than_any_table_has_is_refused,
    page_and_day_numbers_as_large_as_a_number_holds_are_answered,
);

const API: &str = "/pxweb/api/v2";

async fn anonymous(app: &impl TestService, path: &str) -> Reply {
    send(app, TestRequest::get().uri(&format!("{API}{path}"))).await
}

fn post_data(path: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("{API}{path}"))
        .set_json(body)
}

/// A PxWeb problem: the status, the specification's fields, and the title.
fn pxweb_problem(reply: &Reply, status: u16, title: &str) -> Value {
    let problem = reply.problem(status);
    assert_eq!(problem["title"], title, "{problem}");
    problem
}

/// Loads the figures and publishes a snapshot of 2026H1; its summary.
async fn published_half_year(t: &TestApp, app: &impl TestService) -> Value {
    load(t, app).await;
    published(t, app, "2026H1", "Delrapport april 2027").await
}

/// The snapshot's figure of `indicator` for a region (`None`: national) and content; null
/// for a region the snapshot has no row of (no projects there).
fn snapshot_figure(figures: &Value, indicator: &str, region: Option<&str>, content: &str) -> Value {
    let aggregate = figures["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["indicator"]["code"] == indicator)
        .unwrap();
    let row = match region {
        None => &aggregate["national"],
        Some(region) => match aggregate["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["region"] == region)
        {
            Some(row) => row,
            None => return Value::Null,
        },
    };
    row[content].clone()
}

async fn config_names_every_required_field(backend: Backend) {
    let t = TestApp::start_with(backend, |config| config.pxweb_max_data_cells = 5000);
    let app = test::init_service(build_app(t.state.clone())).await;
    let config = anonymous(&app, "/config").await.ok().json();
    for field in [
        "apiVersion",
        "appVersion",
        "languages",
        "defaultLanguage",
        "maxDataCells",
        "maxCallsPerTimeWindow",
        "timeWindow",
        "license",
        "defaultDataFormat",
        "dataFormats",
    ] {
        assert!(!config[field].is_null(), "{field} in {config}");
    }
    let version: Vec<u32> = config["apiVersion"]
        .as_str()
        .unwrap()
        .split('.')
        .map(|part| part.parse().unwrap())
        .collect();
    assert_eq!((version.len(), version[0]), (3, 2), "a plain 2.x.y");
    assert_eq!(config["defaultLanguage"], "sv");
    assert_eq!(config["maxDataCells"], 5000);
    assert_eq!(config["defaultDataFormat"], "json-stat2");
    assert_eq!(config["dataFormats"], json!(["json-stat2", "csv", "xlsx"]));
    assert_eq!(
        config["languages"],
        json!([{"id": "sv", "label": "Svenska"}, {"id": "en", "label": "English"}])
    );
    // The path in any case.
    anonymous(&app, "/CONFIG").await.ok();
}

async fn tables_are_listed_searched_and_paged(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    // Nothing published: no tables, not even from a draft.
    load(&t, &app).await;
    snapshot(&t, &app, "2026H1", "Utkast").await;
    let empty = anonymous(&app, "/tables").await.ok().json();
    assert_eq!(empty["tables"], json!([]));
    assert_eq!(empty["page"]["totalElements"], 0);

    let made = published(&t, &app, "2026H1", "Delrapport").await;
    let figures = send(
        &app,
        TestRequest::get().uri(&format!(
            "/api/v1/snapshots/{}",
            made["id"].as_str().unwrap()
        )),
    )
    .await
    .ok()
    .json()["figures"]
        .clone();
    // One table per indicator: the totals, not the figures per project or per million kronor.
    let indicators = figures["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|aggregate| aggregate["per"] == "total")
        .count();
    let all = anonymous(&app, "/tables?pageSize=1000").await.ok().json();
    assert_eq!(all["language"], "sv");
    assert_eq!(all["page"]["totalElements"], indicators);
    assert_eq!(all["tables"].as_array().unwrap().len(), indicators);
    let table = &all["tables"][0];
    for field in [
        "id",
        "label",
        "updated",
        "firstPeriod",
        "lastPeriod",
        "variableNames",
        "links",
    ] {
        assert!(!table[field].is_null(), "{field} in {table}");
    }
    assert_eq!(table["timeUnit"], "Other");
    assert_eq!(
        (table["firstPeriod"].as_str(), table["lastPeriod"].as_str()),
        (Some("2026H1"), Some("2026H1"))
    );
    let rels: Vec<&str> = table["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert!(l["hreflang"].is_string() && l["href"].is_string());
            l["rel"].as_str().unwrap()
        })
        .collect();
    assert_eq!(rels, ["self", "metadata", "data"]);
    assert!(table["paths"][0][0]["id"].is_string());

    // Pages of two: the page object and its links.
    let second = anonymous(&app, "/tables?pageSize=2&pageNumber=2&lang=en")
        .await
        .ok()
        .json();
    let page = &second["page"];
    assert_eq!(
        (page["pageNumber"].as_i64(), page["pageSize"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(page["totalPages"], indicators.div_ceil(2));
    assert_eq!(second["tables"][0]["id"], all["tables"][2]["id"]);
    let rels: Vec<&str> = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["first", "prev", "next", "last"]);
    pxweb_problem(
        &anonymous(&app, "/tables?pageNumber=99").await,
        404,
        "Non-existent page",
    );

    // Searching: the words in the id or the label, in any case; English labels with lang=en.
    let found = anonymous(&app, "/Tables?QUERY=nat-a01&unknownParameter=1")
        .await
        .ok()
        .json();
    let ids: Vec<&str> = found["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["NAT-A01"]);
    let english = anonymous(&app, "/tables?lang=en&pageSize=1000")
        .await
        .ok()
        .json();
    assert_eq!(english["language"], "en");
    let a01 = english["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "NAT-A01")
        .unwrap();
    assert!(
        a01["label"]
            .as_str()
            .unwrap()
            .ends_with("by region, sex and half-year"),
        "{a01}"
    );
}

async fn a_table_and_its_metadata_follow_the_specification(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let made = published_half_year(&t, &app).await;

    let table = anonymous(&app, "/tables/nat-a01?lang=en").await.ok().json();
    assert_eq!(table["id"], "NAT-A01");
    assert_eq!(table["language"], "en");
    assert_eq!(
        table["variableNames"],
        json!(["region", "sex", "contents", "half-year"])
    );

    let metadata = anonymous(&app, "/TABLES/NAT-A01/METADATA")
        .await
        .ok()
        .json();
    assert_eq!(metadata["version"], "2.0");
    assert_eq!(metadata["class"], "dataset");
    assert_eq!(metadata["value"], json!([]));
    assert_eq!(
        metadata["id"],
        json!(["Region", "Kon", "ContentsCode", "Tid"])
    );
    assert_eq!(metadata["size"], json!([22, 4, 4, 1]));
    assert_eq!(
        metadata["role"],
        json!({"time": ["Tid"], "geo": ["Region"], "metric": ["ContentsCode"]})
    );
    let region = &metadata["dimension"]["Region"];
    assert_eq!(region["category"]["index"]["00"], 0);
    assert_eq!(region["category"]["label"]["00"], "Riket");
    assert_eq!(region["category"]["label"]["07"], "Kronoberg");
    assert_eq!(region["extension"]["elimination"], true);
    assert_eq!(region["extension"]["eliminationValueCode"], "00");
    for dimension in metadata["dimension"].as_object().unwrap().values() {
        assert!(dimension["label"].is_string() && dimension["category"].is_object());
        let show = dimension["extension"]["show"].as_str().unwrap();
        assert!(["value", "code", "code_value"].contains(&show));
    }
    let kon = &metadata["dimension"]["Kon"]["category"]["label"];
    assert_eq!(
        kon,
        &json!({"totalt": "totalt", "kvinnor": "kvinnor", "man": "män", "ej_angivet": "ej angivet"})
    );
    let contents = &metadata["dimension"]["ContentsCode"];
    assert_eq!(contents["extension"]["elimination"], false);
    let unit = &contents["category"]["unit"]["value"];
    assert!(unit["base"].is_string() && unit["decimals"].is_i64());
    // The snapshot the half-year comes from, with its label, as_of and sha256.
    let note = metadata["dimension"]["Tid"]["category"]["note"]["2026H1"][0]
        .as_str()
        .unwrap();
    for part in [
        "Delrapport april 2027",
        made["sha256"].as_str().unwrap(),
        made["id"].as_str().unwrap(),
    ] {
        assert!(note.contains(part), "{note}");
    }
    assert!(
        note.contains(&made["as_of"].as_str().unwrap()[..19]),
        "{note}"
    );
    assert_eq!(metadata["extension"]["px"]["tableid"], "NAT-A01");
    assert_eq!(metadata["extension"]["px"]["language"], "sv");
    assert!(metadata["extension"]["px"]["decimals"].is_i64());
    // An indicator without a sex breakdown has no kön.
    let plain = anonymous(&app, "/tables/RCR01/metadata").await.ok().json();
    assert_eq!(plain["id"], json!(["Region", "ContentsCode", "Tid"]));

    let default = anonymous(&app, "/tables/NAT-A01/defaultselection")
        .await
        .ok()
        .json();
    assert_eq!(default["language"], "sv");
    assert!(default["links"][0]["href"].is_string());
    let variables: Vec<&str> = default["selection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["variableCode"].as_str().unwrap())
        .collect();
    assert_eq!(variables, ["Region", "ContentsCode", "Tid"]);
    assert_eq!(default["selection"][2]["valueCodes"], json!(["2026H1"]));
    assert_eq!(
        default["placement"],
        json!({"heading": ["ContentsCode", "Tid"], "stub": ["Region"]})
    );
}

async fn a_tables_data_equals_the_snapshots_figures(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let made = published_half_year(&t, &app).await;
    let figures = send(
        &app,
        TestRequest::get().uri(&format!(
            "/api/v1/snapshots/{}",
            made["id"].as_str().unwrap()
        )),
    )
    .await
    .ok()
    .json()["figures"]
        .clone();
    let kronoberg = snapshot_figure(&figures, "RCR01", Some("07"), "value");
    assert!(kronoberg.is_number(), "Kronoberg has figures");
    for indicator in ["RCR01", "NAT-E01", "NAT-A01"] {
        let data = anonymous(
            &app,
            &format!("/tables/{indicator}/data?valuecodes[Region]=*&valuecodes[ContentsCode]=*&valuecodes[Tid]=*"),
        )
        .await;
        assert!(data.ok().content_type().starts_with("application/json"));
        let data = data.json();
        let regions = data["dimension"]["Region"]["category"]["index"]
            .as_object()
            .unwrap();
        let contents = ["value", "target", "projects", "reporting_projects"];
        assert_eq!(data["id"], json!(["Region", "ContentsCode", "Tid"]));
        assert_eq!(data["value"].as_array().unwrap().len(), regions.len() * 4);
        for (code, position) in regions {
            for (c, content) in contents.iter().enumerate() {
                let at = position.as_u64().unwrap() as usize * 4 + c;
                let region = (code != "00").then_some(code.as_str());
                let expected = snapshot_figure(&figures, indicator, region, content);
                assert_eq!(data["value"][at], expected, "{indicator} {code} {content}");
                if expected.is_null() {
                    assert_eq!(data["status"][at.to_string()], "..");
                }
            }
        }
    }
    // By sex: the split of the snapshot.
    let split = anonymous(
        &app,
        "/tables/NAT-A01/data?valuecodes[Region]=00,07&valuecodes[Kon]=kvinnor,man&valuecodes[ContentsCode]=value&valuecodes[Tid]=2026H1",
    )
    .await
    .ok()
    .json();
    assert_eq!(split["id"], json!(["Region", "Kon", "ContentsCode", "Tid"]));
    assert_eq!(split["value"], json!([55, 55, 5, 5]));
}

async fn selections_placement_and_formats(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    published_half_year(&t, &app).await;
    let whole = anonymous(
        &app,
        "/tables/RCR01/data?valuecodes[Region]=07,08&valuecodes[ContentsCode]=value&valuecodes[Tid]=*",
    )
    .await
    .ok()
    .json();
    // valueCodes in camelCase, the variable and values in any case, an unknown parameter
    // ignored: the same answer.
    let same = anonymous(
        &app,
        "/tables/rcr01/data?valueCodes[region]=07,08&VALUECODES[contentscode]=VALUE&valueCodes[TID]=top(1)&outputValues[Region]=single&lang=SV",
    )
    .await
    .ok()
    .json();
    assert_eq!(same["value"], whole["value"]);
    assert_eq!(same["id"], whole["id"]);
    // The region left out: Riket.
    let nation = anonymous(
        &app,
        "/tables/RCR01/data?valuecodes[ContentsCode]=value&valuecodes[Tid]=*",
    )
    .await
    .ok()
    .json();
    assert_eq!(nation["id"], json!(["ContentsCode", "Tid"]));
    assert_eq!(
        nation["role"],
        json!({"time": ["Tid"], "metric": ["ContentsCode"]})
    );
    assert_eq!(nation["value"], json!([3.6]));
    // Without a selection: the default selection.
    let default = anonymous(&app, "/tables/RCR01/data").await.ok().json();
    assert_eq!(default["size"], json!([22, 1, 1]));
    // Placement: the half-year and region as columns.
    let placed = anonymous(
        &app,
        "/tables/RCR01/data?valuecodes[Region]=07,08&valuecodes[ContentsCode]=*&valuecodes[Tid]=*&heading=Tid,Region&stub=ContentsCode",
    )
    .await
    .ok()
    .json();
    assert_eq!(placed["id"], json!(["ContentsCode", "Tid", "Region"]));
    assert_eq!(
        placed["extension"]["px"]["heading"],
        json!(["Tid", "Region"])
    );
    assert_eq!(placed["value"][0], whole["value"][0]);
    assert_eq!(placed["value"][1], whole["value"][1]);

    // POST with the specification's body, as pxwebpy and R send it.
    let body = json!({
        "selection": [
            {"variableCode": "Region", "valueCodes": ["07", "08"]},
            {"variableCode": "ContentsCode", "valueCodes": ["value"]},
            {"variableCode": "Tid", "valueCodes": ["TOP(1)"]}
        ],
        "placement": {"heading": ["Tid"], "stub": ["Region", "ContentsCode"]}
    });
    let posted = send(
        &app,
        post_data("/tables/RCR01/data?outputFormat=json-stat2", &body),
    )
    .await
    .ok()
    .json();
    assert_eq!(posted["value"], whole["value"]);
    assert_eq!(posted["id"], json!(["Region", "ContentsCode", "Tid"]));
    let empty = send(
        &app,
        TestRequest::post().uri(&format!("{API}/tables/RCR01/data")),
    )
    .await
    .ok()
    .json();
    assert_eq!(empty["size"], default["size"]);

    // CSV: the stub as rows, the heading as columns; codes on request.
    let csv = anonymous(
        &app,
        "/tables/RCR01/data?valuecodes[Region]=07,08&valuecodes[ContentsCode]=value&valuecodes[Tid]=*&outputFormat=csv&outputFormatParams=UseCodes,SeparatorSemicolon",
    )
    .await;
    assert!(csv.ok().content_type().starts_with("text/csv"));
    let text = String::from_utf8(csv.body[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Region;value 2026H1");
    assert_eq!(lines[1], format!("07;{}", whole["value"][0]));
    assert_eq!(lines[2], format!("08;{}", whole["value"][1]));
    let labelled = anonymous(
        &app,
        "/tables/RCR01/data?valuecodes[Region]=07&valuecodes[ContentsCode]=value&valuecodes[Tid]=*&outputFormat=csv&lang=en",
    )
    .await;
    let text = String::from_utf8(labelled.ok().body[3..].to_vec()).unwrap();
    assert!(
        text.starts_with("region,Value 2026H1\r\nKronoberg,"),
        "{text}"
    );

    let xlsx = anonymous(
        &app,
        "/tables/RCR01/data?valuecodes[Region]=07,08&valuecodes[ContentsCode]=value&valuecodes[Tid]=*&outputformat=XLSX",
    )
    .await;
    assert_eq!(
        xlsx.ok().content_type(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    use calamine::{DataType, Reader};
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.body.clone())).unwrap();
    let sheet = workbook.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(sheet.get((1, 0)).unwrap().to_string(), "Kronoberg");
    assert_eq!(
        sheet.get((1, 1)).unwrap().get_float(),
        whole["value"][0].as_f64()
    );
}

async fn each_half_year_comes_from_the_newest_published_snapshot(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    published_half_year(&t, &app).await;
    let rcr01 =
        "/tables/RCR01/data?valuecodes[Region]=07&valuecodes[ContentsCode]=value&valuecodes[Tid]=*";
    let before = anonymous(&app, rcr01).await.ok().json();
    // A correction, frozen in a draft: not served; published: served, in place of the first.
    let correction = json!({"values": [value("A", "RCR01", "2026H1", json!(0.9))]});
    send(
        &app,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &correction,
        ),
    )
    .await
    .ok();
    snapshot(&t, &app, "2026H1", "Rättelse, utkast").await;
    snapshot(&t, &app, "2026", "Helår").await;
    assert_eq!(
        anonymous(&app, rcr01).await.ok().json()["value"],
        before["value"]
    );
    let corrected = published(&t, &app, "2026H1", "Rättelse").await;
    let after = anonymous(&app, rcr01).await.ok().json();
    assert_ne!(after["value"], before["value"]);
    assert_eq!(after["value"], json!([2.4]));
    let note = after["dimension"]["Tid"]["category"]["note"]["2026H1"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(note.contains(corrected["sha256"].as_str().unwrap()));
    // A second half-year, in order; a year's snapshot makes no half-year.
    published(&t, &app, "2026", "Helår, publicerat").await;
    published(&t, &app, "2026H2", "Andra halvåret").await;
    let metadata = anonymous(&app, "/tables/RCR01/metadata").await.ok().json();
    assert_eq!(
        metadata["dimension"]["Tid"]["category"]["index"],
        json!({"2026H1": 0, "2026H2": 1})
    );
    assert_eq!(metadata["extension"]["lastPeriod"], "2026H2");
}

async fn bad_requests_are_refused_with_the_specifications_problems(backend: Backend) {
    let t = TestApp::start_with(backend, |config| config.pxweb_max_data_cells = 10);
    let app = test::init_service(build_app(t.state.clone())).await;
    published_half_year(&t, &app).await;
    let data = "/tables/RCR01/data?valuecodes[ContentsCode]=value&valuecodes[Tid]=*";
    let cases = [
        (
            format!("{data}&valuecodes[Kon]=man"),
            400,
            "Non-existent variable",
        ),
        (
            format!("{data}&valuecodes[Region]=99"),
            400,
            "Non-existent value",
        ),
        (
            format!("{data}&valuecodes[Region]=TOP(0)"),
            400,
            "Illegal selection expression",
        ),
        (
            format!("{data}&valuecodes[Region]=RANGE(01)"),
            400,
            "Illegal selection expression",
        ),
        (
            format!("{data}&codelist[Region]=vs_Lan&valuecodes[Region]=*"),
            400,
            "Non-existent codelist",
        ),
        (
            "/tables/RCR01/data?valuecodes[Region]=07".to_string(),
            400,
            "Missing selection for mandantory variable",
        ),
        (
            format!("{data}&valuecodes[Region]=07&heading=Kon"),
            400,
            "Illegal placment",
        ),
        (
            format!("{data}&valuecodes[Region]=*"),
            403,
            "Too many cells selected",
        ),
        (
            format!("{data}&outputFormat=px"),
            400,
            "Unsupported output format",
        ),
        (
            format!("{data}&outputFormatParams=UseCodes"),
            400,
            "Unsupported output format parameter",
        ),
        (format!("{data}&lang=fi"), 400, "Unsupported language"),
        ("/tables?lang=de".to_string(), 400, "Unsupported language"),
        ("/tables/NOPE/data".to_string(), 404, "Non-existent table"),
        (
            "/tables/NOPE/metadata".to_string(),
            404,
            "Non-existent table",
        ),
        ("/tables/NOPE".to_string(), 404, "Non-existent table"),
    ];
    for (path, status, title) in cases {
        let problem = pxweb_problem(&anonymous(&app, &path).await, status, title);
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{path}");
    }
    let too_many = anonymous(&app, &format!("{data}&valuecodes[Region]=*"))
        .await
        .json();
    assert!(
        too_many["detail"].as_str().unwrap().contains("22 cells"),
        "{too_many}"
    );
    for body in [
        json!({"selection": [{"variableCode": "Region", "valueCodes": ["99"]}]}),
        json!({"selection": "all"}),
        json!({"selection": [{"valueCodes": ["07"]}]}),
    ] {
        let reply = send(&app, post_data("/tables/RCR01/data", &body)).await;
        assert_eq!(reply.status, 400, "{body}");
        reply.problem(400);
    }
    let malformed = TestRequest::post()
        .uri(&format!("{API}/tables/RCR01/data"))
        .insert_header(("Content-Type", "application/json"))
        .set_payload("{\"selection\": [");
    send(&app, malformed).await.problem(400);
}

/// A selection naming thousands of variables (each compared with the others before the
/// table is asked) is refused once it names more than any table has, by query or by body.
async fn a_selection_of_more_variables_than_any_table_has_is_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    published_half_year(&t, &app).await;
    let many: Vec<Value> = (0..20_000)
        .map(|i| json!({"variableCode": format!("v{i}"), "valueCodes": ["a"]}))
        .collect();
    let started = std::time::Instant::now();
    let reply = send(
        &app,
        post_data("/tables/RCR01/data", &json!({ "selection": many })),
    )
    .await;
    let problem = pxweb_problem(&reply, 400, "Non-existent variable");
    assert!(
        problem["detail"].as_str().unwrap().contains("more than 8"),
        "{problem}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let query: Vec<String> = (0..9).map(|i| format!("valuecodes[v{i}]=a")).collect();
    let path = format!("/tables/RCR01/data?{}", query.join("&"));
    pxweb_problem(&anonymous(&app, &path).await, 400, "Non-existent variable");
    let eight: Vec<Value> = ["Region", "ContentsCode", "Tid"]
        .iter()
        .map(|code| json!({"variableCode": code, "valueCodes": ["*"]}))
        .chain((0..5).map(|i| json!({"variableCode": format!("region{i}"), "valueCodes": []})))
        .collect();
    let reply = send(
        &app,
        post_data("/tables/RCR01/data", &json!({ "selection": eight })),
    )
    .await;
    let problem = pxweb_problem(&reply, 400, "Non-existent variable");
    assert!(
        problem["detail"].as_str().unwrap().contains("region0"),
        "{problem}"
    );
}

/// `pageSize`, `pageNumber` and `pastDays` at the ends of what a whole number holds are
/// answered (a page, no page, every table or none), not a 500 from an overflow.
async fn page_and_day_numbers_as_large_as_a_number_holds_are_answered(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    published_half_year(&t, &app).await;
    let max = i64::MAX;
    let one_page = anonymous(&app, &format!("/tables?pageSize={max}"))
        .await
        .ok()
        .json();
    assert_eq!(one_page["page"]["totalPages"], 1, "{one_page}");
    let all = one_page["tables"].as_array().unwrap().len();
    assert!(all > 0);
    pxweb_problem(
        &anonymous(&app, &format!("/tables?pageSize={max}&pageNumber={max}")).await,
        404,
        "Non-existent page",
    );
    let every = anonymous(&app, &format!("/tables?pastDays={max}&pageSize=1000"))
        .await
        .ok()
        .json();
    assert_eq!(every["tables"].as_array().unwrap().len(), all);
    let none = anonymous(&app, &format!("/tables?pastDays={}", i64::MIN))
        .await
        .ok()
        .json();
    assert_eq!(none["tables"].as_array().unwrap().len(), 0, "{none}");
}
