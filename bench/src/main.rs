//! The benchmark: ingest, aggregate latency and throughput, and the server's peak memory,
//! each beside its floor, on SQLite and PostgreSQL at several sizes; with `--load`, the
//! load run instead (readiness and a writer beside heavy questions, see `load`). A tool,
//! not a test: `cargo run --release -p uppfoljning-bench -- --help`.

mod writes;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use clap::{Parser, ValueEnum};
use diesel::prelude::*;
use diesel::{Connection, PgConnection};

use uppfoljning::auth::Role;
use uppfoljning::config::{Config, DatabaseUrl, JwtKeySource};
use uppfoljning::db::{self, DbConnection};
use uppfoljning::demo::{self, DemoSpec};
use uppfoljning::domain::period::PeriodId;
use uppfoljning::domain::submission::input::SubmissionInput;

use writes::{changed_values, shifted, submit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Parser)]
#[command(about = "Measures uppfoljning against the plain-database floor")]
struct Args {
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["sqlite", "postgres"])]
    backends: Vec<Backend>,
    /// Stored values to measure at.
    #[arg(long, value_delimiter = ',', default_values = ["100000", "1000000"])]
    sizes: Vec<usize>,
    /// Also 10,000,000 values on PostgreSQL.
    #[arg(long)]
    huge: bool,
    /// A PostgreSQL server; a database per run is created on it and dropped.
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Requests per aggregate query for the latency percentiles.
    #[arg(long, default_value_t = 100)]
    repeat: usize,
    /// Seconds of the throughput run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent submitters in the ingest, each sending the next submission as soon as
    /// its last is answered; the submissions are taken region by region in turn.
    #[arg(long, default_value_t = 1)]
    writers: usize,
    /// Concurrent clients in the throughput run.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// The service binary (built with `cargo build --release`).
    #[arg(long, default_value = "target/release/uppfoljning")]
    server: PathBuf,
    /// Instead of the measurements, the load run: `--clients` callers asking heavy
    /// questions with `Cache-Control: no-cache` for `--seconds`, one writer submitting and a
    /// readiness probe every 100 ms, beside the writer's and the probe's figures unloaded.
    #[arg(long)]
    load: bool,
}

const SECRET: &str = "bench-secret-bench-secret-bench-secret";
/// Reads the server's `/metrics`.
const METRICS_TOKEN: &str = "bench-metrics-bench-metrics-bench-metrics";
/// Values per stored demo project over 2022H1..2026H2, measured on the generator.
const VALUES_PER_PROJECT: usize = 13;
/// The values in each of the writer's submissions, one a second, beside the 32 clients.
const WRITER_VALUES: usize = 10_000;

/// Projects active in 2025, for the one-year questions.
const ACTIVE_2025: &str = "p.start_date <= '2025-12-31' AND p.end_date >= '2025-01-01'";
const HALF_YEARS_2025: &str = "('2025H1', '2025H2')";

/// The representative questions, each with the hand-written SQL that gives the same answer
/// as the API: per group and nationally the value, the targets of the matched projects,
/// the projects active in the period and those of them reporting. Each floor row is
/// (`k` group or 'national', `n` value or numerator/denominator, `target`, `projects`,
/// `reporting`), scaled as stored; `check_same_answer` holds the API to it.
fn queries() -> [(&'static str, &'static str, String); 5] {
    // A group's members and its values' tally, joined, and the nation added from the groups
    // (every project is in one region or sakområde).
    let by_group = |column: &str, target: &str, tally: &str| {
        format!(
            "WITH m AS (SELECT {column} AS k, COUNT(*) AS projects, SUM(i.target) AS target FROM projects p \
             LEFT JOIN project_indicators i ON i.project_id = p.id AND i.indicator = '{target}' \
             WHERE {ACTIVE_2025} GROUP BY {column}), \
             t AS ({tally}), \
             g AS (SELECT m.k, t.n, t.d, m.target, m.projects, COALESCE(t.reporting, 0) AS reporting FROM m LEFT JOIN t ON t.k = m.k) \
             SELECT k, {n}, CAST(target AS TEXT) AS target, projects, reporting FROM g \
             UNION ALL SELECT 'national', {national_n}, CAST(SUM(target) AS TEXT), \
             CAST(SUM(projects) AS BIGINT), CAST(SUM(reporting) AS BIGINT) FROM g",
            n = "CASE WHEN d IS NULL THEN CAST(n AS TEXT) ELSE CAST(n AS TEXT) || '/' || CAST(d AS TEXT) END AS n",
            national_n = "CASE WHEN SUM(d) IS NULL THEN CAST(SUM(n) AS TEXT) ELSE CAST(SUM(n) AS TEXT) || '/' || CAST(SUM(d) AS TEXT) END",
        )
    };
    let years = "(VALUES (2022), (2023), (2024), (2025), (2026))";
    let year_of = |column: &str| format!("CAST(SUBSTR(CAST({column} AS TEXT), 1, 4) AS INTEGER)");
    let five_years = "('2022H1','2022H2','2023H1','2023H2','2024H1','2024H2','2025H1','2025H2','2026H1','2026H2')";
    [
        (
            "sum by region, one year",
            "indicator=RCR01&period=2025&group_by=region",
            by_group(
                "p.region",
                "RCR01",
                &format!(
                    "SELECT p.region AS k, SUM(v.value) AS n, CAST(NULL AS BIGINT) AS d, COUNT(DISTINCT v.project_id) AS reporting \
                     FROM indicator_values v JOIN projects p ON p.id = v.project_id \
                     WHERE v.indicator = 'RCR01' AND v.period IN {HALF_YEARS_2025} GROUP BY p.region"
                ),
            ),
        ),
        (
            "distinct national, one year",
            "indicator=RCO01&period=2025",
            format!(
                "SELECT 'national' AS k, \
                 (SELECT CAST(COUNT(DISTINCT e.orgnr) * 10000 AS TEXT) FROM value_entities e \
                  WHERE e.indicator = 'RCO01' AND e.period IN {HALF_YEARS_2025}) AS n, \
                 (SELECT CAST(SUM(i.target) AS TEXT) FROM projects p JOIN project_indicators i ON i.project_id = p.id \
                  AND i.indicator = 'RCO01' WHERE {ACTIVE_2025}) AS target, \
                 (SELECT COUNT(*) FROM projects p WHERE {ACTIVE_2025}) AS projects, \
                 (SELECT COUNT(DISTINCT v.project_id) FROM indicator_values v \
                  WHERE v.indicator = 'RCO01' AND v.period IN {HALF_YEARS_2025}) AS reporting"
            ),
        ),
        (
            "ratio by sakomrade",
            "indicator=NAT-U01&period=2025&group_by=sakomrade",
            by_group(
                "p.sakomrade",
                "NAT-U01",
                &format!(
                    "SELECT p.sakomrade AS k, SUM(n.value) AS n, SUM(d.value) AS d, COUNT(DISTINCT n.project_id) AS reporting \
                     FROM indicator_values n JOIN indicator_values d ON d.project_id = n.project_id AND d.period = n.period \
                     AND d.indicator = 'NAT-A01' JOIN projects p ON p.id = n.project_id \
                     WHERE n.indicator = 'NAT-U01N' AND n.period IN {HALF_YEARS_2025} GROUP BY p.sakomrade"
                ),
            ),
        ),
        (
            "latest by region",
            "indicator=NAT-E01&period=2025&group_by=region",
            by_group(
                "p.region",
                "NAT-E01",
                &format!(
                    "SELECT p.region AS k, SUM(v.value) AS n, CAST(NULL AS BIGINT) AS d, COUNT(*) AS reporting \
                     FROM indicator_values v JOIN projects p ON p.id = v.project_id \
                     WHERE v.indicator = 'NAT-E01' AND v.period = (SELECT MAX(l.period) FROM indicator_values l \
                     WHERE l.project_id = v.project_id AND l.indicator = 'NAT-E01' AND l.period IN {HALF_YEARS_2025}) \
                     GROUP BY p.region"
                ),
            ),
        ),
        (
            "five-year range by period",
            "indicator=RCR02&period=2022..2026&group_by=period",
            // Targets are given only nationally; a project counts in every year it is
            // active in, and once nationally.
            format!(
                "WITH y(n) AS {years}, \
                 m AS (SELECT y.n AS year, COUNT(*) AS projects FROM y JOIN projects p ON {start} <= y.n AND {end} >= y.n \
                  GROUP BY y.n), \
                 t AS (SELECT CAST(SUBSTR(v.period, 1, 4) AS INTEGER) AS year, SUM(v.value) AS n, \
                  COUNT(DISTINCT v.project_id) AS reporting FROM indicator_values v \
                  WHERE v.indicator = 'RCR02' AND v.period IN {five_years} GROUP BY SUBSTR(v.period, 1, 4)) \
                 SELECT CAST(m.year AS TEXT) AS k, CAST(t.n AS TEXT) AS n, CAST(NULL AS TEXT) AS target, m.projects, \
                  COALESCE(t.reporting, 0) AS reporting FROM m LEFT JOIN t ON t.year = m.year \
                 UNION ALL SELECT 'national', \
                  (SELECT CAST(SUM(v.value) AS TEXT) FROM indicator_values v WHERE v.indicator = 'RCR02' AND v.period IN {five_years}), \
                  (SELECT CAST(SUM(i.target) AS TEXT) FROM projects p JOIN project_indicators i ON i.project_id = p.id \
                   AND i.indicator = 'RCR02' WHERE {active}), \
                  (SELECT COUNT(*) FROM projects p WHERE {active}), \
                  (SELECT COUNT(DISTINCT v.project_id) FROM indicator_values v WHERE v.indicator = 'RCR02' AND v.period IN {five_years})",
                active = "p.start_date <= '2026-12-31' AND p.end_date >= '2022-01-01'",
                start = year_of("p.start_date"),
                end = year_of("p.end_date"),
            ),
        ),
    ]
}

/// A row of a floor query (see `queries`).
#[derive(QueryableByName)]
struct FloorRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    k: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    n: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    target: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    projects: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    reporting: i64,
}

fn main() {
    let args = Args::parse();
    let mut runs: Vec<(Backend, usize)> = Vec::new();
    for backend in &args.backends {
        for size in &args.sizes {
            runs.push((*backend, *size));
        }
        if args.huge && *backend == Backend::Postgres {
            runs.push((Backend::Postgres, 10_000_000));
        }
    }
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory()
    );
    for (backend, size) in runs {
        let measured = if args.load {
            load(&args, backend, size)
        } else {
            run(&args, backend, size)
        };
        if let Err(message) = measured {
            eprintln!("bench {backend:?} {size}: {message}");
            std::process::exit(1);
        }
    }
}

fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("unknown memory".into(), |kb| {
            format!("{} GiB memory", kb / 1024 / 1024)
        })
}

/// A database made for one measurement and removed after it.
struct Database {
    url: DatabaseUrl,
    cleanup: Box<dyn Fn()>,
}

impl Drop for Database {
    fn drop(&mut self) {
        (self.cleanup)();
    }
}

fn fresh_database(args: &Args, backend: Backend, name: &str) -> Result<Database, String> {
    match backend {
        Backend::Sqlite => {
            let folder = std::env::temp_dir()
                .join(format!("uppfoljning-bench-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&folder);
            std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
            let remove = folder.clone();
            Ok(Database {
                url: DatabaseUrl::Sqlite(folder.join("bench.db")),
                cleanup: Box::new(move || {
                    let _ = std::fs::remove_dir_all(&remove);
                }),
            })
        }
        Backend::Postgres => {
            // Named by the process too, as the SQLite folder is: benchmarks run at the same
            // time on one server do not drop each other's database.
            let database = format!("uppfoljning_bench_{name}_{}", std::process::id());
            let mut admin =
                PgConnection::establish(&args.postgres_url).map_err(|e| e.to_string())?;
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                .execute(&mut admin)
                .map_err(|e| e.to_string())?;
            diesel::sql_query(format!("CREATE DATABASE {database}"))
                .execute(&mut admin)
                .map_err(|e| e.to_string())?;
            let base = args
                .postgres_url
                .rsplit_once('/')
                .map_or(args.postgres_url.as_str(), |(b, _)| b);
            let server = args.postgres_url.clone();
            let drop_name = database.clone();
            Ok(Database {
                url: DatabaseUrl::Postgres(format!("{base}/{database}")),
                cleanup: Box::new(move || {
                    if let Ok(mut admin) = PgConnection::establish(&server) {
                        let _ = diesel::sql_query(format!(
                            "DROP DATABASE IF EXISTS {drop_name} WITH (FORCE)"
                        ))
                        .execute(&mut admin);
                    }
                }),
            })
        }
    }
}

fn figure(backend: Backend, size: usize, name: &str, value: f64, unit: &str) {
    println!("  {name:<44} {value:>12.2} {unit}");
    println!(
        "{}",
        serde_json::json!({"figure": name, "backend": format!("{backend:?}").to_lowercase(), "values": size, "value": value, "unit": unit})
    );
}

fn spec(size: usize) -> DemoSpec {
    DemoSpec {
        projects: (size / VALUES_PER_PROJECT).max(21),
        seed: 42,
        from: PeriodId::parse("2022H1").expect("period"),
        to: PeriodId::parse("2026H2").expect("period"),
        today: NaiveDate::from_ymd_opt(2026, 11, 28).expect("date"),
    }
}

fn run(args: &Args, backend: Backend, size: usize) -> Result<(), String> {
    println!("== {backend:?}, about {size} values");
    let spec = spec(size);
    let portfolio = demo::generate(&spec);
    let total_values: usize = portfolio.values().map(|s| s.values.len()).sum();
    println!(
        "  generated {} projects, {total_values} values",
        spec.projects
    );

    let served = serve(args, backend, &format!("{size}"), &spec)?;
    let (base, admin, national) = (&served.base, &served.admin, &served.national);
    let database = &served.database;
    let server = &served.server;
    let agent = agent();

    // Ingest over HTTP in submissions of 10,000 values. As for the floor, the projects are
    // stored first and untimed, and the narratives after, so that the two write the same
    // rows in the timed part: values, enterprises and revisions.
    let submit = |region: &str, chunk: &SubmissionInput| submit(&agent, base, admin, region, chunk);
    let mut value_chunks = Vec::new();
    let mut narratives = Vec::new();
    for (region, submission) in &portfolio {
        for mut chunk in demo::in_chunks(submission.clone(), 10_000) {
            if !chunk.projects.is_empty() {
                submit(region, &chunk)?;
                continue;
            }
            narratives.push((region, std::mem::take(&mut chunk.narratives)));
            value_chunks.push((region, chunk));
        }
    }
    let value_chunks = taking_regions_in_turn(value_chunks);
    let stored: usize = value_chunks.iter().map(|(_, c)| c.values.len()).sum();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..args.writers.max(1))
            .map(|_| {
                scope.spawn(|| {
                    while let Some((region, chunk)) =
                        value_chunks.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        submit(region, chunk)?;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        writers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| "a writer panicked".to_string())?)
    })?;
    let ingest_rate = stored as f64 / started.elapsed().as_secs_f64();
    let ingest = match args.writers {
        0 | 1 => "ingest over HTTP".to_string(),
        writers => format!("ingest over HTTP, {writers} writers"),
    };
    figure(backend, size, &ingest, ingest_rate, "values/s");
    figure(
        backend,
        size,
        "server peak resident memory after ingest",
        peak_memory_mb(server.0.id()),
        "MB",
    );
    for (region, narratives) in narratives {
        let only_narratives = SubmissionInput {
            narratives,
            ..SubmissionInput::default()
        };
        submit(region, &only_narratives)?;
    }

    let floor_rate = ingest_floor(args, backend, size, &spec, &portfolio)?;
    figure(
        backend,
        size,
        "ingest floor (plain database)",
        floor_rate,
        "values/s",
    );
    figure(
        backend,
        size,
        "ingest floor / HTTP",
        floor_rate / ingest_rate,
        "x",
    );

    // Aggregate latency against the hand-written SQL.
    let mut conn = db::connect(&database.url, 1)
        .map_err(|e| e.to_string())?
        .get()
        .map_err(|e| e.to_string())?;
    if backend == Backend::Postgres {
        // What autovacuum does soon after a bulk load; without it the planner guesses.
        let conn: &mut DbConnection = &mut conn;
        diesel::sql_query("ANALYZE")
            .execute(conn)
            .map_err(|e| e.to_string())?;
    }
    let mut floors = Vec::new();
    // Each question twice: as answered again between writes (the answer kept since the
    // last write), and recomputed from the stored values (`Cache-Control: no-cache`), the
    // cost of the first question after every write.
    for (name, query, sql) in queries() {
        let url = format!("{base}/api/v1/aggregates?{query}");
        let ask = |recompute: bool| {
            let mut request = agent
                .get(&url)
                .header("Authorization", format!("Bearer {national}"));
            if recompute {
                request = request.header("Cache-Control", "no-cache");
            }
            let mut response = request.call().map_err(|e| e.to_string())?;
            let body = response
                .body_mut()
                .read_to_vec()
                .map_err(|e| e.to_string())?;
            if response.status() != 200 {
                Err(format!("{name}: status {}", response.status()))
            } else {
                Ok(body)
            }
        };
        let mut load_floor = || {
            let conn: &mut DbConnection = &mut conn;
            diesel::sql_query(&sql)
                .load::<FloorRow>(conn)
                .map_err(|e| e.to_string())
        };
        check_same_answer(&ask(true)?, &load_floor()?)
            .map_err(|e| format!("{name}: the floor is not the API's answer: {e}"))?;
        let kept = time(args.repeat, || ask(false).map(drop))?;
        let recomputed = time((args.repeat / 5).max(10), || ask(true).map(drop))?;
        let floor = time(args.repeat, || load_floor().map(drop))?;
        let floor_p50 = percentile(&floor, 0.5);
        floors.push(floor_p50);
        for (times, how) in [(&kept, "kept"), (&recomputed, "recomputed")] {
            for (label, p) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)] {
                figure(
                    backend,
                    size,
                    &format!("{name}, {how} {label}"),
                    percentile(times, p),
                    "ms",
                );
            }
            figure(
                backend,
                size,
                &format!("{name}, {how} p50 / floor p50"),
                percentile(times, 0.5) / floor_p50,
                "x",
            );
        }
        figure(
            backend,
            size,
            &format!("{name}, floor p50"),
            floor_p50,
            "ms",
        );
    }

    figure(
        backend,
        size,
        "server peak resident memory after the latency runs",
        peak_memory_mb(server.0.id()),
        "MB",
    );
    after_a_write(args, backend, size, &served, &portfolio, &floors)?;
    // Throughput with concurrent clients, answers kept and recomputed.
    for recompute in [false, true] {
        let how = if recompute { "recomputed" } else { "kept" };
        let (requests, errors) = throughput(
            base,
            national,
            args.clients,
            Duration::from_secs(args.seconds),
            recompute,
        );
        figure(
            backend,
            size,
            &format!("aggregates with {} clients, {how}", args.clients),
            requests as f64 / args.seconds as f64,
            "requests/s",
        );
        figure(
            backend,
            size,
            &format!("errors under load, {how}"),
            errors as f64,
            "errors",
        );
    }
    figure(
        backend,
        size,
        "server peak resident memory",
        peak_memory_mb(server.0.id()),
        "MB",
    );
    // With a writer submitting 10,000 changed values every second: every answer is the
    // first after some write. Each submission is sent on its second whether the one before
    // has been answered or not: a writer that waited would send less as the service slows,
    // and the load would no longer be the one measured against.
    let mut writes = changed_values(&portfolio, WRITER_VALUES);
    // Only the regions with a whole submission's worth, where any has (at 100,000 values
    // none has).
    if writes.iter().any(|(_, c)| c.values.len() == WRITER_VALUES) {
        writes.retain(|(_, c)| c.values.len() == WRITER_VALUES);
    }
    let stop = AtomicBool::new(false);
    let (submissions, (requests, errors)) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let started = Instant::now();
            let mut sent = Vec::new();
            let mut round = 0;
            // One a second while the clients ask: at 0, 1, … s, not again at the end.
            while !stop.load(Ordering::Relaxed) && round < args.seconds as usize {
                let (region, chunk) = shifted(&writes, round);
                sent.push(scope.spawn(move || {
                    let began = Instant::now();
                    let stored = submit(region, &chunk).is_ok();
                    (chunk.values.len(), stored, began.elapsed())
                }));
                round += 1;
                let due = Duration::from_secs(round as u64);
                std::thread::sleep(due.saturating_sub(started.elapsed()));
            }
            sent.into_iter()
                .filter_map(|submission| submission.join().ok())
                .collect::<Vec<_>>()
        });
        let measured = throughput(
            base,
            national,
            args.clients,
            Duration::from_secs(args.seconds),
            false,
        );
        stop.store(true, Ordering::Relaxed);
        (writer.join().unwrap_or_default(), measured)
    });
    let seconds = args.seconds as f64;
    let sent: usize = submissions.iter().map(|(values, _, _)| values).sum();
    let stored: usize = submissions
        .iter()
        .filter(|(_, stored, _)| *stored)
        .map(|(values, _, _)| values)
        .sum();
    let took = sorted(
        submissions
            .iter()
            .map(|(_, _, took)| took.as_secs_f64() * 1000.0)
            .collect(),
    );
    figure(
        backend,
        size,
        &format!(
            "aggregates with {} clients and a writer of 10,000 values/s",
            args.clients
        ),
        requests as f64 / args.seconds as f64,
        "requests/s",
    );
    figure(
        backend,
        size,
        "errors under load with the writer",
        errors as f64,
        "errors",
    );
    figure(
        backend,
        size,
        "values the writer sent meanwhile",
        sent as f64 / seconds,
        "values/s",
    );
    figure(
        backend,
        size,
        "values of those the service stored",
        stored as f64 / seconds,
        "values/s",
    );
    // A service that cannot keep the pace answers each submission later than the one
    // before: the slowest then grows with the run.
    for (label, p) in [("p50", 0.5), ("slowest", 1.0)] {
        figure(
            backend,
            size,
            &format!("the writer's submissions, {label} from sent to stored"),
            percentile(&took, p),
            "ms",
        );
    }
    figure(
        backend,
        size,
        "server peak resident memory with the writer",
        peak_memory_mb(server.0.id()),
        "MB",
    );
    Ok(())
}

/// The first answer after a write, on the server (index) and on a second server on the same
/// database that computes in SQL (`AGGREGATE_INDEX_BYTES=0`, as before the index); the
/// index's bytes per value; the start-up of a server with the index to load.
fn after_a_write(
    args: &Args,
    backend: Backend,
    size: usize,
    served: &Served,
    portfolio: &demo::Portfolio,
    floors: &[f64],
) -> Result<(), String> {
    let (base, admin, national) = (&served.base, &served.admin, &served.national);
    let bytes = metric(base, "aggregate_index_bytes")?;
    let values = metric(base, "aggregate_index_values")?;
    figure(backend, size, "aggregate index", bytes / 1e6, "MB");
    figure(
        backend,
        size,
        "aggregate index per stored value",
        bytes / values.max(1.0),
        "bytes",
    );
    let sql_port = free_port()?;
    let _sql = start_server_with(
        args,
        &served.database.url,
        sql_port,
        &[("AGGREGATE_INDEX_BYTES", "0")],
    )?;
    let sql_base = format!("http://127.0.0.1:{sql_port}");
    wait_ready(&sql_base)?;
    let one_value = changed_values(portfolio, 1);
    let agent = agent();
    let mut round = 0;
    for ((name, query, _), floor_p50) in queries().iter().zip(floors) {
        for (server, how) in [(base, "index"), (&sql_base, "SQL")] {
            let url = format!("{server}/api/v1/aggregates?{query}");
            // Three to warm up, then timed: the answer alone, the write before it not.
            let mut times = Vec::new();
            for i in 0..(args.repeat / 5).max(10) + 3 {
                round += 1;
                let (region, chunk) = shifted(&one_value, round);
                submit(&agent, base, admin, region, &chunk)?;
                let started = Instant::now();
                let response = agent
                    .get(&url)
                    .header("Authorization", format!("Bearer {national}"))
                    .call()
                    .map_err(|e| e.to_string())?;
                if response.status() != 200 {
                    return Err(format!("{name}: status {}", response.status()));
                }
                if i >= 3 {
                    times.push(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
            times.sort_by(|a, b| a.total_cmp(b));
            for (label, p) in [("p50", 0.50), ("p99", 0.99)] {
                figure(
                    backend,
                    size,
                    &format!("{name}, first after a write ({how}) {label}"),
                    percentile(&times, p),
                    "ms",
                );
            }
            figure(
                backend,
                size,
                &format!("{name}, first after a write ({how}) p50 / floor p50"),
                percentile(&times, 0.5) / floor_p50,
                "x",
            );
        }
    }
    // A restart with the whole database to load.
    let port = free_port()?;
    let started = Instant::now();
    let restarted = start_server_with(args, &served.database.url, port, &[])?;
    let restarted_base = format!("http://127.0.0.1:{port}");
    wait_ready(&restarted_base)?;
    figure(
        backend,
        size,
        "start-up: ready",
        started.elapsed().as_secs_f64(),
        "s",
    );
    while metric(&restarted_base, "aggregate_index_values")? < values {
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the restarted server's index was not loaded in 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    figure(
        backend,
        size,
        "start-up: index loaded",
        started.elapsed().as_secs_f64(),
        "s",
    );
    figure(
        backend,
        size,
        "restarted server peak resident memory (index loaded)",
        peak_memory_mb(restarted.0.id()),
        "MB",
    );
    Ok(())
}

/// The service on a fresh database with the demo's half-years open, and its tokens. The
/// server is stopped before its database is removed (fields drop in this order).
struct Served {
    server: Server,
    database: Database,
    base: String,
    admin: String,
    national: String,
    keys: uppfoljning::auth::TokenKeys,
}

fn serve(args: &Args, backend: Backend, name: &str, spec: &DemoSpec) -> Result<Served, String> {
    let database = fresh_database(args, backend, name)?;
    let config = config(&database.url);
    let state = uppfoljning::state::AppState::open(config.clone()).map_err(|e| e.to_string())?;
    open_periods(&state, spec)?;
    drop(state);
    let port = free_port()?;
    let server = start_server(args, &database.url, port)?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base)?;
    let keys = uppfoljning::auth::TokenKeys::load(&config).map_err(|e| e.to_string())?;
    Ok(Served {
        server,
        database,
        base,
        admin: keys.sign("bench", Role::Admin, None, 7200)?,
        national: keys.sign("bench", Role::National, None, 7200)?,
        keys,
    })
}

/// How often the load run's readiness probe asks, as a load balancer would.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// How long the load run's impatient clients wait for an answer before they leave.
const GIVE_UP_AFTER: Duration = Duration::from_millis(300);

/// The server's count of one metric without labels.
fn metric(base: &str, name: &str) -> Result<f64, String> {
    let text = agent()
        .get(format!("{base}/metrics"))
        .header("Authorization", format!("Bearer {METRICS_TOKEN}"))
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .ok_or_else(|| format!("no {name} in the metrics"))
}

/// The load run: the demo portfolio stored (untimed), then the floor, the writer and the
/// readiness probe each alone, then both again while `args.clients` callers, each a token
/// of its own, ask heavy questions recomputed (`no-cache`) for `args.seconds`. Localhost
/// only; bounded by the time, each request by the server's 30 s queue limit.
fn load(args: &Args, backend: Backend, size: usize) -> Result<(), String> {
    println!("== load run, {backend:?}, about {size} values");
    let spec = spec(size);
    let portfolio = demo::generate(&spec);
    let served = serve(args, backend, &format!("load_{size}"), &spec)?;
    let (base, admin) = (&served.base, &served.admin);
    let agent = agent();
    for (region, submission) in &portfolio {
        for chunk in demo::in_chunks(submission.clone(), 10_000) {
            submit(&agent, base, admin, region, &chunk)?;
        }
    }
    if backend == Backend::Postgres {
        let mut conn = db::connect(&served.database.url, 1)
            .map_err(|e| e.to_string())?
            .get()
            .map_err(|e| e.to_string())?;
        let conn: &mut DbConnection = &mut conn;
        diesel::sql_query("ANALYZE")
            .execute(conn)
            .map_err(|e| e.to_string())?;
    }
    // The writer: ten of one region's values of a plain sum (RCR01, jobs created), each
    // changed by every submission, so that every one is stored (and drops kept answers).
    let (region, submission) = portfolio.iter().next().ok_or("no region")?;
    let values: Vec<_> = submission
        .values
        .iter()
        .filter(|v| v.indicator == "RCR01" && v.value.is_some())
        .take(10)
        .cloned()
        .collect();
    let round = AtomicU64::new(0);
    let write = || {
        let step = rust_decimal::Decimal::from(round.fetch_add(1, Ordering::Relaxed) % 2);
        let changed = SubmissionInput {
            values: values
                .iter()
                .map(|v| uppfoljning::domain::submission::input::ValueInput {
                    value: v.value.map(|value| value + step),
                    ..v.clone()
                })
                .collect(),
            ..SubmissionInput::default()
        };
        submit(&agent, base, admin, region, &changed)
    };
    let probe = || -> Result<(), String> {
        let status = agent
            .get(format!("{base}/health/ready"))
            .call()
            .map_err(|e| e.to_string())?
            .status();
        if status == 200 {
            Ok(())
        } else {
            Err(format!("readiness {status}"))
        }
    };
    let pid = served.server.0.id();

    // The floor: each alone, in this same run.
    let probe_alone = time(args.repeat, probe)?;
    let writer_alone = time(args.repeat, write)?;
    figure(
        backend,
        size,
        "load: server peak memory before the load (storing the demo)",
        peak_memory_mb(pid),
        "MB",
    );
    // From here the peak is the load's own.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").map_err(|e| e.to_string())?;

    // The load: questions varied over the years, so that no two clients ask the same.
    let questions: Vec<String> = {
        let mut questions: Vec<String> = (2022..=2026)
            .flat_map(|year| {
                queries()
                    .into_iter()
                    .map(move |(_, path, _)| path.replace("period=2025", &format!("period={year}")))
            })
            .collect();
        questions.sort();
        questions.dedup();
        questions
    };
    let tokens: Vec<String> = (0..args.clients)
        .map(|client| {
            served
                .keys
                .sign(&format!("load-{client}"), Role::National, None, 7200)
        })
        .collect::<Result<_, _>>()?;
    let stop = AtomicBool::new(false);
    let answers = AtomicU64::new(0);
    let errors = std::sync::Mutex::new(std::collections::BTreeMap::<String, u64>::new());
    let failed = |what: &str, status: String| {
        *errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(format!("{what} {status}"))
            .or_default() += 1;
    };
    let duration = Duration::from_secs(args.seconds);
    let (probe_loaded, writer_loaded) = std::thread::scope(|scope| {
        for (client, token) in tokens.iter().enumerate() {
            let (questions, stop, answers, failed) = (&questions, &stop, &answers, &failed);
            scope.spawn(move || {
                let agent = crate::agent();
                let mut i = client;
                while !stop.load(Ordering::Relaxed) {
                    let url = format!(
                        "{base}/api/v1/aggregates?{}",
                        questions[i % questions.len()]
                    );
                    let answered = agent
                        .get(&url)
                        .header("Authorization", format!("Bearer {token}"))
                        .header("Cache-Control", "no-cache")
                        .call()
                        .map_err(|e| e.to_string())
                        .and_then(|mut r| {
                            let status = r.status();
                            r.body_mut().read_to_vec().map_err(|e| e.to_string())?;
                            if status == 200 {
                                Ok(())
                            } else {
                                Err(status.as_u16().to_string())
                            }
                        });
                    match answered {
                        Ok(()) => {
                            answers.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(status) => failed("aggregates", status),
                    }
                    i += 1;
                }
            });
        }
        let (stop, failed) = (&stop, &failed);
        let writer = scope.spawn(move || {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                match write() {
                    Ok(()) => times.push(started.elapsed().as_secs_f64() * 1000.0),
                    Err(error) => failed("writer", error),
                }
            }
            times
        });
        let prober = scope.spawn(move || {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                match probe() {
                    Ok(()) => times.push(started.elapsed().as_secs_f64() * 1000.0),
                    Err(error) => failed("readiness", error),
                }
                std::thread::sleep(PROBE_EVERY.saturating_sub(started.elapsed()));
            }
            times
        });
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        (
            sorted(prober.join().unwrap_or_default()),
            sorted(writer.join().unwrap_or_default()),
        )
    });
    if probe_loaded.is_empty() || writer_loaded.is_empty() {
        return Err("the probe or the writer got no answer under load".into());
    }
    for (name, alone, loaded) in [
        ("readiness probe", &probe_alone, &probe_loaded),
        ("writer", &writer_alone, &writer_loaded),
    ] {
        for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
            let (alone, loaded) = (percentile(alone, p), percentile(loaded, p));
            figure(
                backend,
                size,
                &format!("load: {name} {label} alone"),
                alone,
                "ms",
            );
            figure(
                backend,
                size,
                &format!("load: {name} {label} loaded"),
                loaded,
                "ms",
            );
            figure(
                backend,
                size,
                &format!("load: {name} {label} loaded / alone"),
                loaded / alone,
                "x",
            );
        }
        figure(
            backend,
            size,
            &format!("load: {name} answers under load"),
            loaded.len() as f64,
            "answers",
        );
    }
    figure(
        backend,
        size,
        &format!("load: aggregates/s, {} callers, no-cache", args.clients),
        answers.load(Ordering::Relaxed) as f64 / args.seconds as f64,
        "answers/s",
    );
    let errors = errors
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let total: u64 = errors.values().sum();
    figure(backend, size, "load: errors", total as f64, "errors");
    for (what, count) in errors {
        figure(
            backend,
            size,
            &format!("load: errors, {what}"),
            count as f64,
            "errors",
        );
    }
    figure(
        backend,
        size,
        "load: server peak memory during the load",
        peak_memory_mb(pid),
        "MB",
    );

    // Impatient clients: every caller asks once more at the same moment and leaves after
    // 0.3 s. The server counts the computations it then did not start or stopped; the
    // rest were dropped while they waited for a place.
    let impatient = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(GIVE_UP_AFTER))
            .build(),
    );
    let before = metric(base, "computations_cancelled_total")?;
    let left = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for (client, token) in tokens.iter().enumerate() {
            let (impatient, questions, left) = (&impatient, &questions, &left);
            scope.spawn(move || {
                let answered = impatient
                    .get(format!(
                        "{base}/api/v1/aggregates?{}",
                        questions[client % questions.len()]
                    ))
                    .header("Authorization", format!("Bearer {token}"))
                    .header("Cache-Control", "no-cache")
                    .call()
                    .and_then(|mut r| r.body_mut().read_to_vec());
                if answered.is_err() {
                    left.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    // Long enough for PostgreSQL's cancel (asked every 100 ms) to arrive.
    std::thread::sleep(Duration::from_secs(1));
    figure(
        backend,
        size,
        "load: impatient callers who left after 0.3 s",
        left.load(Ordering::Relaxed) as f64,
        "callers",
    );
    figure(
        backend,
        size,
        "load: their computations not started or stopped",
        metric(base, "computations_cancelled_total")? - before,
        "computations",
    );
    probe().map_err(|e| format!("after the impatient clients: {e}"))?;
    Ok(())
}

fn config(url: &DatabaseUrl) -> Config {
    Config {
        database: url.clone(),
        bind: "127.0.0.1:0".parse().expect("address"),
        data_dir: std::env::temp_dir(),
        jwt_key: JwtKeySource::Secret(SECRET.as_bytes().to_vec()),
        jwt_issuer: None,
        jwt_audience: None,
        pool_size: 10,
        max_body_bytes: 1024 * 1024,
        max_submission_bytes: 64 * 1024 * 1024,
        rate_limit_per_second: 0,
        cors_allowed_origins: Vec::new(),
        max_answer_cells: uppfoljning::config::DEFAULT_MAX_ANSWER_CELLS,
        metrics_token: None,
        jwt_max_lifetime_seconds: uppfoljning::config::DEFAULT_JWT_MAX_LIFETIME_SECONDS,
        kept_answers_bytes: uppfoljning::config::DEFAULT_KEPT_ANSWERS_BYTES,
        aggregate_index_bytes: uppfoljning::config::DEFAULT_AGGREGATE_INDEX_BYTES,
        behind_tls_proxy: false,
        clock_offset_seconds: 0,
        oidc: None,
        pxweb_max_data_cells: uppfoljning::config::DEFAULT_PXWEB_MAX_DATA_CELLS,
    }
}

fn open_periods(state: &uppfoljning::state::AppState, spec: &DemoSpec) -> Result<(), String> {
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    uppfoljning::service::demo_data::open_periods(&mut conn, spec).map_err(|e| e.to_string())
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// The service under measurement; stopped when the run ends, also on an error.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(args: &Args, url: &DatabaseUrl, port: u16) -> Result<Server, String> {
    start_server_with(args, url, port, &[])
}

/// The service with these settings beside the benchmark's own.
fn start_server_with(
    args: &Args,
    url: &DatabaseUrl,
    port: u16,
    settings: &[(&str, &str)],
) -> Result<Server, String> {
    let database = match url {
        DatabaseUrl::Postgres(url) => url.clone(),
        DatabaseUrl::Sqlite(path) => path.to_string_lossy().into_owned(),
    };
    Command::new(&args.server)
        .arg("serve")
        .env("DATABASE_URL", database)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .env("RATE_LIMIT_PER_SECOND", "0")
        .env("METRICS_TOKEN", METRICS_TOKEN)
        .envs(settings.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map(Server)
        .map_err(|e| {
            format!(
                "cannot start {}: {e} (run cargo build --release first)",
                args.server.display()
            )
        })
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(300)))
            .build(),
    )
}

fn wait_ready(base: &str) -> Result<(), String> {
    let agent = agent();
    for _ in 0..100 {
        if agent
            .get(format!("{base}/health/ready"))
            .call()
            .is_ok_and(|r| r.status() == 200)
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("the server did not become ready".into())
}

/// Milliseconds of each of `repeat` calls, after a short warm-up.
/// The submissions reordered so that consecutive ones come from different regions, as at a
/// reporting deadline: concurrent writers then do not wait for each other's region.
fn taking_regions_in_turn<T>(chunks: Vec<(&String, T)>) -> Vec<(&String, T)> {
    let mut by_region: std::collections::BTreeMap<&String, std::collections::VecDeque<T>> =
        std::collections::BTreeMap::new();
    for (region, chunk) in chunks {
        by_region.entry(region).or_default().push_back(chunk);
    }
    let mut in_turn = Vec::new();
    while !by_region.is_empty() {
        by_region.retain(|region, queue| match queue.pop_front() {
            Some(chunk) => {
                in_turn.push((*region, chunk));
                true
            }
            None => false,
        });
    }
    in_turn
}

/// Holds the API's answer (JSON) to the floor's rows: the same groups, and in each, and
/// nationally, the same value (or numerator and denominator), target, projects and
/// reporting projects. The floor's figures are scaled as stored.
fn check_same_answer(body: &[u8], floor: &[FloorRow]) -> Result<(), String> {
    use rust_decimal::Decimal;
    let answer: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let group = answer["group_by"][0].as_str();
    let scaled = |v: &serde_json::Value| -> Option<String> {
        let number: Decimal = v.to_string().parse().ok()?;
        Some((number * Decimal::from(10_000)).normalize().to_string())
    };
    let api_rows = answer["rows"].as_array().ok_or("no rows")?;
    // Without grouping the API's one row is the nation.
    let grouped_rows = if group.is_some() { floor.len() - 1 } else { 1 };
    if api_rows.len() != grouped_rows {
        return Err(format!(
            "{} rows from the API, {grouped_rows} from the floor",
            api_rows.len(),
        ));
    }
    let national_twice = group.is_none().then(|| &api_rows[0]);
    for row in floor {
        let api = if row.k == "national" {
            if national_twice.is_some_and(|row| *row != answer["national"]) {
                return Err("the one row is not the nation".into());
            }
            &answer["national"]
        } else {
            let group = group.ok_or("the API has no group_by")?;
            api_rows
                .iter()
                .find(|r| r[group].as_str() == Some(row.k.as_str()))
                .ok_or_else(|| format!("no API row for {}", row.k))?
        };
        let value = match (scaled(&api["numerator"]), scaled(&api["denominator"])) {
            (Some(numerator), Some(denominator)) => Some(format!("{numerator}/{denominator}")),
            _ => scaled(&api["value"]),
        };
        let got = (
            value,
            scaled(&api["target"]),
            api["projects"].as_i64(),
            api["reporting_projects"].as_i64(),
        );
        let expected = (
            row.n.clone(),
            row.target.clone(),
            Some(row.projects),
            Some(row.reporting),
        );
        if got != expected {
            return Err(format!("{}: API {got:?}, floor {expected:?}", row.k));
        }
    }
    Ok(())
}

fn time(repeat: usize, mut call: impl FnMut() -> Result<(), String>) -> Result<Vec<f64>, String> {
    for _ in 0..3 {
        call()?;
    }
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        call()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(sorted(times))
}

fn sorted(mut times: Vec<f64>) -> Vec<f64> {
    times.sort_by(|a, b| a.total_cmp(b));
    times
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn throughput(
    base: &str,
    token: &str,
    clients: usize,
    duration: Duration,
    recompute: bool,
) -> (u64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let paths: Vec<&str> = queries().iter().map(|(_, path, _)| *path).collect();
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let (stop, done, failed) = (stop.clone(), done.clone(), failed.clone());
            let (base, token, paths) = (base.to_string(), token.to_string(), paths.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut i = client;
                while !stop.load(Ordering::Relaxed) {
                    let url = format!("{base}/api/v1/aggregates?{}", paths[i % paths.len()]);
                    let mut request = agent
                        .get(&url)
                        .header("Authorization", format!("Bearer {token}"));
                    if recompute {
                        request = request.header("Cache-Control", "no-cache");
                    }
                    let ok = request
                        .call()
                        .is_ok_and(|mut r| r.status() == 200 && r.body_mut().read_to_vec().is_ok());
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed)
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed)
                    };
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

fn peak_memory_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<f64>().ok())
                })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Writes the same values, enterprises and revisions straight into a fresh database by the
/// fastest plain path, and returns values per second.
fn ingest_floor(
    args: &Args,
    backend: Backend,
    size: usize,
    spec: &DemoSpec,
    portfolio: &std::collections::BTreeMap<
        String,
        uppfoljning::domain::submission::input::SubmissionInput,
    >,
) -> Result<f64, String> {
    use uppfoljning::db::schema::{indicator_values, projects, value_entities, value_revisions};
    let database = fresh_database(args, backend, &format!("floor_{size}"))?;
    let state =
        uppfoljning::state::AppState::open(config(&database.url)).map_err(|e| e.to_string())?;
    open_periods(&state, spec)?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let now = uppfoljning::domain::now();
    // Projects first, untimed: the floor is for the values.
    let mut ids = std::collections::HashMap::new();
    for (region, submission) in portfolio {
        for project in &submission.projects {
            let id: i64 = diesel::insert_into(projects::table)
                .values((
                    projects::region.eq(region),
                    projects::ref_.eq(&project.project_ref),
                    projects::title.eq(&project.title),
                    projects::organisation.eq(&project.organisation),
                    projects::status.eq(&project.status),
                    projects::project_type.eq(&project.project_type),
                    projects::sakomrade.eq(&project.sakomrade),
                    projects::fokusomrade.eq(&project.fokusomrade),
                    projects::effektkedja.eq(&project.effektkedja),
                    projects::start_date.eq(project.start_date),
                    projects::end_date.eq(project.end_date),
                    projects::granted_sek.eq(project.granted_sek),
                    projects::total_budget_sek.eq(project.total_budget_sek),
                    projects::created_at.eq(now),
                    projects::updated_at.eq(now),
                ))
                .returning(projects::id)
                .get_result(&mut *conn)
                .map_err(|e| e.to_string())?;
            ids.insert((region.clone(), project.project_ref.clone()), id);
        }
    }
    let scaled = |d: Option<rust_decimal::Decimal>| {
        d.map(|d| {
            (d * rust_decimal::Decimal::from(10_000))
                .trunc()
                .try_into()
                .unwrap_or(0i64)
        })
    };
    let mut values = Vec::new();
    let mut entities = Vec::new();
    let mut revisions = Vec::new();
    for (region, submission) in portfolio {
        for v in &submission.values {
            let project_id = ids[&(region.clone(), v.project_ref.clone())];
            let list: Vec<String> = v.entities.clone().unwrap_or_default();
            let value = scaled(v.value).unwrap_or(list.len() as i64 * 10_000);
            let parts = v.by_sex.as_ref().map(|b| {
                (
                    scaled(Some(b.kvinnor)),
                    scaled(Some(b.man)),
                    scaled(Some(b.ej_angivet)),
                )
            });
            values.push((
                indicator_values::project_id.eq(project_id),
                indicator_values::indicator.eq(v.indicator.clone()),
                indicator_values::period.eq(v.period.clone()),
                indicator_values::value.eq(value),
                indicator_values::kvinnor.eq(parts.and_then(|p| p.0)),
                indicator_values::man.eq(parts.and_then(|p| p.1)),
                indicator_values::ej_angivet.eq(parts.and_then(|p| p.2)),
                indicator_values::updated_at.eq(now),
                indicator_values::updated_by.eq("floor"),
            ));
            revisions.push((
                value_revisions::project_id.eq(project_id),
                value_revisions::indicator.eq(v.indicator.clone()),
                value_revisions::period.eq(v.period.clone()),
                value_revisions::new_value.eq(value),
                value_revisions::changed_at.eq(now),
                value_revisions::changed_by.eq("floor"),
            ));
            let mut unique = list;
            unique.sort();
            unique.dedup();
            for orgnr in unique {
                entities.push((
                    value_entities::project_id.eq(project_id),
                    value_entities::indicator.eq(v.indicator.clone()),
                    value_entities::period.eq(v.period.clone()),
                    value_entities::orgnr.eq(orgnr),
                ));
            }
        }
    }
    let count = values.len();
    let started = Instant::now();
    match &mut *conn {
        DbConnection::Postgres(pg) => pg
            .transaction(|pg| {
                diesel::copy_from(indicator_values::table)
                    .from_insertable(&values)
                    .execute(pg)?;
                diesel::copy_from(value_entities::table)
                    .from_insertable(&entities)
                    .execute(pg)?;
                diesel::copy_from(value_revisions::table)
                    .from_insertable(&revisions)
                    .execute(pg)?;
                diesel::QueryResult::Ok(())
            })
            .map_err(|e| e.to_string())?,
        DbConnection::Sqlite(sqlite) => sqlite
            .immediate_transaction(|sqlite| {
                for row in &values {
                    diesel::insert_into(indicator_values::table)
                        .values(row.clone())
                        .execute(sqlite)?;
                }
                for row in &entities {
                    diesel::insert_into(value_entities::table)
                        .values(row.clone())
                        .execute(sqlite)?;
                }
                for row in &revisions {
                    diesel::insert_into(value_revisions::table)
                        .values(row.clone())
                        .execute(sqlite)?;
                }
                diesel::QueryResult::Ok(())
            })
            .map_err(|e| e.to_string())?,
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}
