//! Hostile workbooks sent to the real server in a child process whose address space is
//! limited: each is answered 422 (or, where it passes no bound, as an honest file is), the
//! server stays up for the next request, and nothing is stored. The files are made from the
//! template by a generator that knows the workbook's structure: every part under other
//! letter cases, ranges that claim the whole sheet, one long text shared by many cells, deep
//! XML, many styles, many defined names, a million empty rows.

use std::io::{Cursor, Read, Write};

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::load;
use crate::backend_tests;
use crate::child_server::{agent, free_port, start, wait_ready};
use crate::common::{Backend, TestApp, get, send};
use crate::spreadsheet::with_part;
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::domain::validation::MAX_LISTED_ERRORS;

backend_tests!(
    hostile_workbooks_leave_the_server_standing,
    hostile_csv_files_are_refused_in_bounded_memory,
    hostile_json_bodies_are_refused_in_bounded_memory,
);

/// The server's address space: the binary, its threads' stacks and two malloc arenas take
/// some 300 MiB of it before the first request.
const ADDRESS_SPACE: u64 = 1 << 30;
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const TEMPLATE: &str = "/api/v1/regions/07/reports/2026H1/template";

/// What a hostile file must get.
#[derive(Debug)]
enum Expect {
    /// 422 with an error of this code.
    Refused(&'static str),
    /// Any answer but a failure of the server: the file passes no bound.
    Answered,
}

/// The template's parts, each as its bytes.
fn parts(workbook: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(workbook)).unwrap();
    (0..archive.len())
        .map(|index| {
            let mut part = archive.by_index(index).unwrap();
            let mut bytes = Vec::new();
            part.read_to_end(&mut bytes).unwrap();
            (part.name().to_string(), bytes)
        })
        .collect()
}

/// A workbook of `parts`, each written as given.
fn zipped(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut target = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in parts {
        target.start_file(name, options).unwrap();
        target.write_all(bytes).unwrap();
    }
    target.finish().unwrap().into_inner()
}

const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

/// A sheet part whose `sheetData` is written by `rows`.
fn sheet(part: &mut dyn Write, dimension: &str, rows: impl FnOnce(&mut dyn Write)) {
    write!(
        part,
        r#"{SHEET_START}<dimension ref="{dimension}"/><sheetData>"#
    )
    .unwrap();
    rows(part);
    write!(part, "</sheetData></worksheet>").unwrap();
}

/// The hostile files, each with a name, its bytes and what it must get.
fn hostile_workbooks(template: &[u8]) -> Vec<(String, Vec<u8>, Expect)> {
    // The template's sheets in order: Instruktioner, Koder, Projekt, Planer, Värden, …
    let projekt = "xl/worksheets/sheet3.xml";
    let values = "xl/worksheets/sheet5.xml";
    let mut files = Vec::new();

    // Every part under two other letter cases, grown past what calamine may hold in memory
    // (a sheet, read as a stream, may be that large).
    for (name, _) in parts(template) {
        for renamed in [name.to_uppercase(), swap_case(&name)] {
            let mut grown = parts(template);
            let part = grown.iter_mut().find(|(n, _)| *n == name).unwrap();
            part.0 = renamed.clone();
            part.1 = insert_after_declaration(&part.1, &b" ".repeat(20 << 20));
            let expect = if name.starts_with("xl/worksheets/") {
                Expect::Answered
            } else {
                Expect::Refused("workbook_too_large")
            };
            files.push((format!("{renamed} grown to 20 MiB"), zipped(&grown), expect));
        }
    }

    // One 15 MiB text shared by 900 cells, and a 4 KiB text shared by 100,000 cells.
    for (length, cells, code) in [
        (15 << 20, 900, "too_long"),
        (4 << 10, 100_000, "workbook_too_large"),
    ] {
        let (strings, index) = with_shared_text(template, &"x".repeat(length));
        let file = with_part(&strings, values, |part| {
            sheet(part, "A1:K100000", |rows| {
                for row in 1..=cells {
                    write!(
                        rows,
                        r#"<row r="{row}"><c r="K{row}" t="s"><v>{index}</v></c></row>"#
                    )
                    .unwrap();
                }
            })
        });
        files.push((
            format!("a {length}-byte text in {cells} cells"),
            file,
            Expect::Refused(code),
        ));
    }

    // A shared formula and a dimension that claim the whole sheet, and a shared index that
    // would size a table of four billion formulas.
    let whole_sheet = with_part(template, projekt, |part| {
        sheet(part, "A1:XFD1048576", |rows| {
            write!(rows, r#"<row r="2"><c r="A2"><f t="shared" ref="A2:XFD1048576" si="0">B1</f></c><c r="B2"><f t="shared" ref="A1:XFD1048576" si="4000000000">A1</f></c></row>"#).unwrap();
            for row in 3..=1_000 {
                write!(rows, r#"<row r="{row}"><c r="A{row}"><f t="shared" si="0"/></c><c r="B{row}"><f t="shared" si="4000000000"/></c></row>"#).unwrap();
            }
        })
    });
    files.push((
        "shared formulas over the whole sheet".into(),
        whole_sheet,
        Expect::Refused("wrong_header"),
    ));

    // XML nested a million deep, in a sheet and in the shared texts.
    let deep = |part: &mut dyn Write| {
        part.write_all(&b"<a>".repeat(1_000_000)).unwrap();
        part.write_all(&b"</a>".repeat(1_000_000)).unwrap();
    };
    let deep_sheet = with_part(template, values, |part| {
        sheet(part, "A1", |rows| {
            write!(rows, r#"<row r="1"><c r="A1" t="inlineStr"><is>"#).unwrap();
            deep(rows);
            write!(rows, "</is></c></row>").unwrap();
        })
    });
    files.push((
        "a sheet nested a million deep".into(),
        deep_sheet,
        Expect::Refused("wrong_header"),
    ));
    let deep_strings = with_part(template, "xl/sharedStrings.xml", |part| {
        write!(part, r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si>"#).unwrap();
        deep(part);
        write!(part, "</si></sst>").unwrap();
    });
    files.push((
        "shared texts nested a million deep".into(),
        deep_strings,
        Expect::Answered,
    ));

    // Styles and defined names by the million, within what calamine may hold and past it.
    for (count, expect) in [
        (500_000, Expect::Answered),
        (4_000_000, Expect::Refused("workbook_too_large")),
    ] {
        let styles = with_part(template, "xl/styles.xml", |part| {
            write!(part, r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts><cellXfs count="{count}">"#).unwrap();
            for _ in 0..count {
                part.write_all(br#"<xf numFmtId="164"/>"#).unwrap();
            }
            write!(part, "</cellXfs></styleSheet>").unwrap();
        });
        files.push((format!("{count} styles"), styles, expect));
    }
    let names = {
        let mut grown = parts(template);
        let workbook = grown
            .iter_mut()
            .find(|(n, _)| n == "xl/workbook.xml")
            .unwrap();
        let text = String::from_utf8(workbook.1.clone()).unwrap();
        let mut defined = String::from("<definedNames>");
        for index in 0..500_000 {
            defined.push_str(&format!(
                r#"<definedName name="n{index}">Projekt!$A$1</definedName>"#
            ));
        }
        defined.push_str("</definedNames>");
        let text = text.replace("<definedNames>", &defined);
        let text = if text.contains("</definedNames>") && text.len() > defined.len() {
            text
        } else {
            text.replace("</sheets>", &format!("</sheets>{defined}"))
        };
        workbook.1 = text.into_bytes();
        zipped(&grown)
    };
    files.push((
        "500,000 defined names".into(),
        names,
        Expect::Refused("workbook_too_large"),
    ));

    // Half a million sheets naming one 3 MB part: calamine would copy the name for each.
    let sheets = {
        let mut grown = parts(template);
        let long = format!("worksheets/{}.xml", "a".repeat(3 << 20));
        for (name, bytes) in grown.iter_mut() {
            let text = String::from_utf8(bytes.clone()).unwrap();
            if name == "xl/_rels/workbook.xml.rels" {
                *bytes = text
                    .replace("</Relationships>", &format!(r#"<Relationship Id="rX" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="{long}"/></Relationships>"#))
                    .into_bytes();
            } else if name == "xl/workbook.xml" {
                *bytes = text
                    .replace(
                        "</sheets>",
                        &format!(
                            "{}</sheets>",
                            r#"<sheet name="x" sheetId="99" r:id="rX"/>"#.repeat(500_000)
                        ),
                    )
                    .into_bytes();
            }
        }
        zipped(&grown)
    };
    files.push((
        "500,000 sheets naming one long part".into(),
        sheets,
        Expect::Refused("workbook_too_large"),
    ));

    // Two million cells in columns the sheet does not have: their errors are counted, not kept.
    let columns = with_part(template, values, |part| {
        sheet(part, "A1", |rows| {
            write!(rows, r#"<row r="5">"#).unwrap();
            for _ in 0..2_000_000 {
                rows.write_all(b"<c><v>1</v></c>").unwrap();
            }
            write!(rows, "</row>").unwrap();
        })
    });
    files.push((
        "two million cells in unknown columns".into(),
        columns,
        Expect::Refused("too_many_errors"),
    ));

    // A data version the service has not reached, and the version's name twice.
    let workbook = parts(template)
        .into_iter()
        .find(|(name, _)| name == "xl/workbook.xml")
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .unwrap();
    let marker = version_marker(&workbook);
    for (forged, name) in [
        (workbook.replace(&marker, r#"<definedName name="uppfoljning_dataversion">=999999</definedName>"#), "a future template version"),
        (workbook.replace(&marker, &format!(r#"<definedName name="UPPFOLJNING_DATAVERSION" localSheetId="4">=999999</definedName>{marker}"#)), "the template version twice"),
    ] {
        let mut forged_parts = parts(template);
        forged_parts
            .iter_mut()
            .find(|(n, _)| n == "xl/workbook.xml")
            .unwrap()
            .1 = forged.into_bytes();
        files.push((
            name.into(),
            zipped(&forged_parts),
            Expect::Refused("invalid_template_version"),
        ));
    }

    // A million empty rows, and a million rows of one value each.
    for cells in [false, true] {
        let file = with_part(template, values, |part| {
            sheet(part, "A1:XFD1048576", |rows| {
                for row in 1..=1_000_000 {
                    if cells {
                        write!(rows, r#"<row r="{row}"><c r="G{row}"><v>1</v></c></row>"#).unwrap();
                    } else {
                        write!(rows, r#"<row r="{row}"/>"#).unwrap();
                    }
                }
            })
        });
        files.push((
            format!("a million rows, cells: {cells}"),
            file,
            Expect::Refused("too_many_rows"),
        ));
    }
    files
}

/// The template with `text` added to its shared texts, and the index of that text.
fn with_shared_text(template: &[u8], text: &str) -> (Vec<u8>, usize) {
    let mut archive = zip::ZipArchive::new(Cursor::new(template)).unwrap();
    let mut strings = String::new();
    archive
        .by_name("xl/sharedStrings.xml")
        .unwrap()
        .read_to_string(&mut strings)
        .unwrap();
    let index = strings.matches("<si>").count();
    let strings = strings.replace("</sst>", &format!("<si><t>{text}</t></si></sst>"));
    let file = with_part(template, "xl/sharedStrings.xml", |part| {
        part.write_all(strings.as_bytes()).unwrap()
    });
    (file, index)
}

/// The template's `definedName` element that holds its data version.
fn version_marker(workbook: &str) -> String {
    let start = workbook
        .find(r#"<definedName name="uppfoljning_dataversion""#)
        .expect("the template names its data version");
    let end = start + workbook[start..].find("</definedName>").unwrap() + "</definedName>".len();
    workbook[start..end].to_string()
}

/// The highest resident memory of process `pid` so far, in bytes.
fn peak_resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// The server in a child process under the address-space limit, and its resident memory
/// when it was ready, so that a test can say how much its requests grew it.
struct LimitedServer {
    process: std::process::Child,
    base: String,
    resident_at_start: u64,
}

impl LimitedServer {
    fn start(t: &TestApp) -> LimitedServer {
        let port = free_port();
        let process = start(&t.config.database, port, Some(ADDRESS_SPACE));
        wait_ready(port);
        LimitedServer {
            resident_at_start: peak_resident(process.id()),
            process,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Kronoberg's submission of `body`: the status and the answer's text.
    fn submit(
        &self,
        token: &str,
        content_type: &str,
        body: &[u8],
        dry_run: bool,
    ) -> Result<(u16, String), ureq::Error> {
        let mut reply = agent()
            .post(format!(
                "{}/api/v1/regions/07/submissions?dry_run={dry_run}",
                self.base
            ))
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", content_type)
            .send(body)?;
        let text = reply.body_mut().read_to_string().unwrap_or_default();
        Ok((reply.status().as_u16(), text))
    }

    /// Stops the server once its peak memory is shown to have grown by less than `bound`.
    fn stop_within(self, bound: u64) {
        let grown = peak_resident(self.process.id()) - self.resident_at_start;
        eprintln!(
            "the server's peak resident memory grew by {} MiB",
            grown >> 20
        );
        assert!(
            grown < bound,
            "the server's peak memory grew by {grown} bytes"
        );
    }
}

/// A test that fails half-way stops its server too, which would otherwise outlive it.
impl Drop for LimitedServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn swap_case(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// The part with `padding` (white space) after its XML declaration, or before it all.
fn insert_after_declaration(part: &[u8], padding: &[u8]) -> Vec<u8> {
    let at = if part.starts_with(b"<?xml") {
        part.windows(2)
            .position(|w| w == b"?>")
            .map_or(0, |i| i + 2)
    } else {
        0
    };
    [&part[..at], padding, &part[at..]].concat()
}

async fn hostile_workbooks_leave_the_server_standing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let token = t.token(Role::Region, Some("07"));
    let reply = send(&app, get(TEMPLATE, &token)).await;
    assert_eq!(reply.status, 200);
    let template = reply.body.to_vec();
    let stored = || {
        [
            t.count("value_revisions"),
            t.count("project_history"),
            t.count("narratives"),
            t.count("value_entities"),
            t.count("submissions"),
        ]
    };
    let before = stored();

    let mut server = LimitedServer::start(&t);
    let mut largest = 0;
    for (name, file, expect) in hostile_workbooks(&template) {
        largest = largest.max(file.len() as u64);
        let started = std::time::Instant::now();
        let reply = server.submit(&token, XLSX, &file, true);
        let Ok((status, text)) = reply else {
            panic!(
                "{name}: no answer ({reply:?}); the server: {:?}",
                server.process.try_wait()
            );
        };
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        eprintln!(
            "{name} ({} bytes): {status} in {:?}",
            file.len(),
            started.elapsed()
        );
        match expect {
            Expect::Refused(code) => {
                assert_eq!(status, 422, "{name}: {body}");
                assert!(
                    body["errors"]
                        .as_array()
                        .is_some_and(|errors| errors.iter().any(|e| e["code"] == code)),
                    "{name}: {code} expected in {body}"
                );
            }
            Expect::Answered => assert!(status < 500, "{name}: {status} {body}"),
        }
        let alive = agent().get(format!("{}/health/live", server.base)).call();
        assert!(
            alive.is_ok_and(|r| r.status() == 200),
            "{name}: the server is gone ({:?})",
            server.process.try_wait()
        );
    }
    assert_eq!(stored(), before, "nothing stored");
    server.stop_within(largest + (256 << 20));
}

/// The CSV files of the issue: a million blank lines (refused by their count before any is
/// read), and a hundred thousand lines of seven errors each, whose errors past the listed
/// number are counted, not kept: the server's memory grows by the rows' cells, never by
/// their errors.
async fn hostile_csv_files_are_refused_in_bounded_memory(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let token = t.token(Role::Region, Some("07"));
    let before = [t.count("value_revisions"), t.count("submissions")];
    let header = "project_ref,indicator,period,value,kvinnor,man,ej_angivet,organisationsnummer\n";
    let files = [
        (
            format!("{header}{}", ",,,,,,,\n".repeat(999_999)),
            "too_many_rows",
            1,
        ),
        (
            format!("{header}{}", ",,,tolv,tolv,tolv,tolv,\n".repeat(100_000)),
            "too_many_errors",
            700_000,
        ),
    ];
    let server = LimitedServer::start(&t);
    for (file, code, error_count) in files {
        for dry_run in [true, false] {
            let (status, text) = server
                .submit(&token, "text/csv", file.as_bytes(), dry_run)
                .expect("an answer");
            assert!(text.len() < 400_000, "{code}: {} bytes", text.len());
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(status, 422, "{body}");
            assert_eq!(body["error_count"], error_count, "{code}");
            let errors = body["errors"].as_array().unwrap();
            assert!(errors.len() <= MAX_LISTED_ERRORS);
            assert_eq!(errors.last().unwrap()["code"], code, "{code}");
        }
    }
    assert_eq!(
        [t.count("value_revisions"), t.count("submissions")],
        before,
        "nothing stored"
    );
    server.stop_within(96 << 20);
}

/// A JSON body of the largest size allowed, holding a million small values (ten times the
/// limit), one project with nine million branscher, one value with four million enterprises,
/// and the first with a NUL character in its last text: each refused with one error while
/// the server's memory grows by about the body, not by the items it lists or a tree of the
/// whole document (which took some 1.1 GiB, past the address-space limit).
async fn hostile_json_bodies_are_refused_in_bounded_memory(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let token = t.token(Role::Region, Some("07"));
    let before = [t.count("value_revisions"), t.count("submissions")];
    let item = r#"{"project_ref":"A","indicator":"R","period":"2026H2"},"#;
    let count = (uppfoljning::config::DEFAULT_MAX_SUBMISSION_BYTES - 64) / item.len();
    let many = item.repeat(count - 1);
    let plain = format!(r#"{{"values":[{many}{}]}}"#, item.trim_end_matches(','));
    let with_nul = format!(
        r#"{{"values":[{many}{{"project_ref":"A\u0000","indicator":"R","period":"2026H2"}}]}}"#
    );
    // One project whose list of branscher fills the body.
    let codes = "\"kkn\",".repeat(uppfoljning::config::DEFAULT_MAX_SUBMISSION_BYTES / 7);
    let project = json!({
        "ref": "Q", "title": "Q", "organisation": "Regionen", "status": "pagaende",
        "project_type": "projekt", "sakomrade": "ovrigt", "effektkedja": "infrastruktur",
        "start_date": "2027-01-01", "end_date": "2027-12-31",
        "granted_sek": 1, "total_budget_sek": 1
    })
    .to_string();
    let branscher = format!(
        r#"{{"projects":[{},"branscher":[{}]}}]}}"#,
        project.trim_end_matches('}'),
        codes.trim_end_matches(',')
    );
    // One value whose list of enterprises fills the body.
    let firms = "\"5560360793\",".repeat(uppfoljning::config::DEFAULT_MAX_SUBMISSION_BYTES / 14);
    let entities = format!(
        r#"{{"values":[{{"project_ref":"A","indicator":"RCO01","period":"2026H2","entities":[{}]}}]}}"#,
        firms.trim_end_matches(',')
    );
    let bodies = [
        (plain, "values", "too_many_items"),
        (entities, "values[0].entities", "too_many_items"),
        (branscher, "projects[0].branscher", "too_many_items"),
        (
            with_nul,
            &*format!("values[{}].project_ref", count - 1),
            "nul_character",
        ),
    ];
    let server = LimitedServer::start(&t);
    for (body, field, code) in &bodies {
        for dry_run in [true, false] {
            let (status, text) = server
                .submit(&token, "application/json", body.as_bytes(), dry_run)
                .expect("an answer");
            let answer: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(status, 422, "{code}: {answer}");
            assert_eq!(answer["error_count"], 1, "{code}: {answer}");
            assert_eq!(answer["errors"][0]["field"], *field, "{answer}");
            assert_eq!(answer["errors"][0]["code"], *code, "{answer}");
        }
    }
    assert_eq!(
        [t.count("value_revisions"), t.count("submissions")],
        before,
        "nothing stored"
    );
    server.stop_within(192 << 20);
}
