//! A real PxWeb client: pxwebpy (Python, API v2 only) reads a published table from the
//! server on a port into a pandas data frame, whose numbers must be the API's. `.ci/run`
//! installs pxwebpy and pandas into `target/ci-pxwebpy`; without that environment the
//! test says so and passes, except under CI.

use std::path::Path;
use std::process::Command;

use actix_web::test;
use serde_json::Value;

use crate::aggregates::load;
use crate::backend_tests;
use crate::browser::serve;
use crate::common::{Backend, TestApp};
use crate::publishing::published;
use uppfoljning::app::build_app;

backend_tests!(pxwebpy_reads_a_published_table_into_a_data_frame);

const PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/ci-pxwebpy/bin/python");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/pxwebpy_table.py");

async fn pxwebpy_reads_a_published_table_into_a_data_frame(backend: Backend) {
    if !Path::new(PYTHON).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the pxwebpy test: .ci/run installs pxwebpy into target/ci-pxwebpy"
        );
        eprintln!("target/ci-pxwebpy not found: pxwebpy is not tested (run .ci/run once)");
        return;
    }
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    published(&t, &app, "2026H1", "Delrapport").await;
    let (base, server) = serve(&t);
    let api = format!("{base}/pxweb/api/v2");
    // Blocking calls off the test's thread, which runs the server.
    let (expected, output) = actix_web::rt::task::spawn_blocking(move || {
        let expected = ureq::get(&format!(
            "{api}/tables/RCR01/data?valuecodes[Region]=*&valuecodes[ContentsCode]=*&valuecodes[Tid]=*"
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
        let output = Command::new(PYTHON)
            .args([SCRIPT, &api, "RCR01"])
            .output()
            .expect("run python");
        (expected, output)
    })
    .await
    .unwrap();
    let expected: Value = serde_json::from_str(&expected).unwrap();
    server.stop(true).await;
    assert!(
        output.status.success(),
        "pxwebpy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        read["tables"]
            .as_array()
            .unwrap()
            .contains(&Value::from("RCR01"))
    );
    // The columns are the dimensions' labels, then the value.
    assert_eq!(
        read["columns"],
        serde_json::json!(["region", "tabellinnehåll", "halvår", "value"])
    );
    let rows = read["rows"].as_array().unwrap();
    let values = expected["value"].as_array().unwrap();
    assert_eq!(rows.len(), values.len());
    let index = |dimension: &str, code: &Value| {
        expected["dimension"][dimension]["category"]["index"][code.as_str().unwrap()]
            .as_u64()
            .unwrap() as usize
    };
    let sizes: Vec<usize> = expected["size"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap() as usize)
        .collect();
    let mut compared = 0;
    for row in rows {
        let at = (index("Region", &row["region"]) * sizes[1]
            + index("ContentsCode", &row["tabellinnehåll"]))
            * sizes[2]
            + index("Tid", &row["halvår"]);
        assert_eq!(
            row["value"].as_f64(),
            values[at].as_f64(),
            "{row} against {}",
            values[at]
        );
        compared += usize::from(values[at].is_number());
    }
    assert!(compared > 4, "figures were compared, not only gaps");
}
