//! Submissions as CSV files: the same checks, transaction and answer as JSON.

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    a_csv_file_is_the_same_submission_as_json,
    csv_errors_name_the_line_and_column_and_store_nothing,
    the_template_is_prefilled_and_its_texts_stay_texts,
);

async fn post_csv(
    app: &impl TestService,
    token: &str,
    path: &str,
    file: &str,
) -> crate::common::Reply {
    let request = test::TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "text/csv; charset=utf-8"))
        .set_payload(file.to_string());
    send(app, request).await
}

const PATH: &str = "/api/v1/regions/07/submissions";

async fn a_csv_file_is_the_same_submission_as_json(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    // Semicolons, a byte-order mark, Swedish decimal commas, an organisationsnummer typed
    // as a number (Excel drops the dash), a blank value that is not reported.
    let file = "\u{feff}project_ref;indicator;period;value;kvinnor;man;ej_angivet;organisationsnummer\r\n\
                A;RCR01;2026H2;0,3;;;;\r\n\
                B;RCO01;2026H1;;;;;5560360793\r\n\
                B;RCO01;2026H1;;;;;556703-7485\r\n\
                B;NAT-A01;2026H1;7;3;4;;\r\n\
                B;RCR01;2026H2;;;;;\r\n";
    let json = json!({"values": [
        value("A", "RCR01", "2026H2", json!(0.3)),
        {"project_ref": "B", "indicator": "RCO01", "period": "2026H1", "entities": ["5560360793", "556703-7485"]},
        {"project_ref": "B", "indicator": "NAT-A01", "period": "2026H1", "value": 7,
         "by_sex": {"kvinnor": 3, "man": 4, "ej_angivet": 0}},
    ]});
    let dry = format!("{PATH}?dry_run=true");
    let from_json = send(&app, post_json(&dry, &kronoberg, &json)).await.json();
    let from_csv = post_csv(&app, &kronoberg, &dry, file).await;
    let from_csv = from_csv.ok().json();
    for part in ["projects", "values", "narratives"] {
        assert_eq!(from_csv[part], from_json[part], "{part}");
    }
    assert_eq!(
        from_csv["values"],
        json!({"created": 2, "updated": 1, "unchanged": 0})
    );
    let stored = post_csv(&app, &kronoberg, PATH, file).await.json();
    assert_eq!(stored["status"], "stored");
    let b = send(&app, get("/api/v1/regions/07/projects/B", &kronoberg))
        .await
        .json();
    let firms = b["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["indicator"] == "RCO01")
        .unwrap()
        .clone();
    assert_eq!(firms["entities"], json!(["5560360793", "5567037485"]));
    assert_eq!(firms["value"], 2);
    let again = post_csv(&app, &kronoberg, PATH, file).await.json();
    assert_eq!(
        again["values"],
        json!({"created": 0, "updated": 0, "unchanged": 3}),
        "the same file again changes nothing"
    );
    // Commas and no byte-order mark read the same.
    let commas = "project_ref,indicator,period,value,kvinnor,man,ej_angivet,organisationsnummer\n\
                  A,RCR01,2026H2,0.3,,,,\n";
    let reply = post_csv(&app, &kronoberg, PATH, commas).await.json();
    assert_eq!(reply["values"]["unchanged"], 1);
}

async fn csv_errors_name_the_line_and_column_and_store_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let revisions = t.count("value_revisions");
    let unreadable = "project_ref;indicator;period;value;kvinnor;man;ej_angivet;organisationsnummer\n\
                      A;RCR01;2026H2;tolv;;;;\n";
    let problem = post_csv(&app, &kronoberg, PATH, unreadable)
        .await
        .problem(422);
    assert_eq!(
        (
            problem["errors"][0]["line"].clone(),
            problem["errors"][0]["column"].clone()
        ),
        (json!(2), json!("value"))
    );
    let invalid = "project_ref;indicator;period;value;kvinnor;man;ej_angivet;organisationsnummer\n\
                   A;RCR01;2026H2;1;;;;\n\
                   A;NOPE;2026H2;1;;;;\n\
                   B;RCO01;2026H1;;;;;5560360794\n";
    let problem = post_csv(&app, &kronoberg, PATH, invalid).await.problem(422);
    let named: Vec<(Value, Value, Value)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].clone(), e["line"].clone(), e["column"].clone()))
        .collect();
    assert_eq!(
        named,
        vec![
            (json!("values[1].indicator"), json!(3), json!("indicator")),
            (
                json!("values[2].entities[0]"),
                json!(4),
                json!("organisationsnummer")
            ),
        ]
    );
    let headless = post_csv(&app, &kronoberg, PATH, "ref,value\nA,1\n")
        .await
        .problem(422);
    assert_eq!(headless["errors"][0]["code"], "missing_columns");
    assert_eq!(t.count("value_revisions"), revisions, "nothing stored");
    let other_type = test::TestRequest::post()
        .uri(PATH)
        .insert_header(("Authorization", format!("Bearer {kronoberg}")))
        .insert_header(("Content-Type", "text/plain"))
        .set_payload("A;RCR01");
    send(&app, other_type).await.problem(415);
}

async fn the_template_is_prefilled_and_its_texts_stay_texts(backend: Backend) {
    use calamine::{Data, DataType, Reader, Xlsx};
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    // A title that a spreadsheet would take for a formula.
    let b = send(&app, get("/api/v1/regions/07/projects/B", &t.admin()))
        .await
        .json();
    let mut renamed = b.clone();
    for field in ["region", "values", "narratives", "created_at", "updated_at"] {
        renamed.as_object_mut().unwrap().remove(field);
    }
    renamed["title"] = json!("=HYPERLINK(\"http://x\")");
    let reply = send(
        &app,
        crate::common::put_json("/api/v1/regions/07/projects/B", &t.admin(), &renamed),
    )
    .await;
    reply.ok();
    let path = "/api/v1/regions/07/reports/2026H1/template";
    let kronoberg = t.token(Role::Region, Some("07"));
    let reply = send(&app, get(path, &kronoberg)).await;
    reply.ok();
    assert_eq!(
        reply.content_type(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(reply.body.clone())).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        [
            "Instruktioner",
            "Koder",
            "Projekt",
            "Planer",
            "Värden",
            "Företag",
            "Berättelser"
        ]
    );
    let koder = workbook
        .sheets_metadata()
        .iter()
        .find(|sheet| sheet.name == "Koder")
        .unwrap()
        .visible;
    assert_eq!(
        koder,
        calamine::SheetVisible::Hidden,
        "code lists on a hidden sheet"
    );
    // Fokusområde's drop-down lists the row's sakområde's own, by a name per sakområde.
    let lists: Vec<(String, String)> = workbook.defined_names().to_vec();
    let innovation = lists
        .iter()
        .find(|(name, _)| name == "fokus_innovation_foretagande")
        .map(|(_, range)| range.clone())
        .expect("a list of innovation_foretagande's fokusområden");
    let codes = workbook.worksheet_range("Koder").unwrap();
    let column = codes
        .rows()
        .next()
        .unwrap()
        .iter()
        .position(|name| *name == Data::String("fokus_innovation_foretagande".into()))
        .unwrap();
    let listed: Vec<String> = codes
        .rows()
        .skip(1)
        .map(|row| row[column].to_string())
        .filter(|code| !code.is_empty())
        .collect();
    assert!(listed.contains(&"innovation".to_string()), "{listed:?}");
    assert!(
        !listed.contains(&"transportsystem".to_string()),
        "{listed:?}"
    );
    assert!(innovation.starts_with("Koder!$"), "{innovation}");
    let projects = workbook.worksheet_range("Projekt").unwrap();
    assert_eq!(projects.get((0, 0)), Some(&Data::String("ref".into())));
    assert_eq!(
        projects.get((2, 1)),
        Some(&Data::String("=HYPERLINK(\"http://x\")".into()))
    );
    let formulas = workbook.worksheet_formula("Projekt").unwrap();
    assert!(
        formulas
            .used_cells()
            .all(|(_, _, formula)| formula.is_empty()),
        "no formula in a data cell"
    );
    let values = workbook.worksheet_range("Värden").unwrap();
    let rows: Vec<(String, String, Option<f64>)> = values
        .rows()
        .skip(1)
        .map(|row| (row[0].to_string(), row[2].to_string(), row[6].as_f64()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("A".into(), "RCR01".into(), Some(0.1)),
            ("B".into(), "RCR01".into(), Some(1.5)),
        ],
        "RCO01 counts enterprises: it is on Företag"
    );
    let enterprises = workbook.worksheet_range("Företag").unwrap();
    let orgnr: Vec<String> = enterprises
        .rows()
        .skip(1)
        .map(|row| row[3].to_string())
        .collect();
    assert_eq!(orgnr, ["5560360793", "5567037485"]);
    let plans = workbook.worksheet_range("Planer").unwrap();
    let plans: Vec<(String, String, Option<f64>)> = plans
        .rows()
        .skip(1)
        .map(|row| (row[0].to_string(), row[1].to_string(), row[4].as_f64()))
        .collect();
    assert_eq!(
        plans,
        vec![
            ("A".into(), "RCO01".into(), Some(10.0)),
            ("A".into(), "RCR01".into(), Some(5.0)),
            ("B".into(), "RCR01".into(), Some(2.0)),
        ]
    );
    let instructions = workbook.worksheet_range("Instruktioner").unwrap();
    assert!(
        instructions
            .get((1, 0))
            .unwrap()
            .to_string()
            .contains("2030-01-31")
    );
    // Kalmar may not read Kronoberg's template; the scheduler reads no project data.
    send(&app, get(path, &t.token(Role::Region, Some("08"))))
        .await
        .problem(403);
    send(&app, get(path, &t.token(Role::National, None))).await;
    send(
        &app,
        get("/api/v1/regions/07/reports/2031H1/template", &t.admin()),
    )
    .await
    .problem(404);
}
