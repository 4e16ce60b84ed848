//! Measures the dashboard's Översikt in headless Chromium on a demo portfolio: the time from
//! navigation until every figure is drawn (the page's `oversikt-klar` mark), the first time
//! (answers computed), again (kept answers), and right after a one-value write (every answer
//! computed anew, as during a reporting deadline), and the requests the page made; and where
//! a load's time goes, from the browser's own timings: when the sign-in, the reference data
//! and the last aggregate were answered, and when every figure was drawn. The floor is the
//! same API answers fetched by a plain HTTP client, six at a time as a browser does.
//!
//! `cargo build --release && cargo run --release -p uppfoljning-bench --bin dashboard-bench --
//! --projects 10000` (needs Debian's chromium and chromium-driver).

mod writes;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use uppfoljning::demo::{self, DemoSpec};
use uppfoljning::domain::period::{PeriodId, swedish_today};

#[derive(Parser)]
#[command(about = "Measures the dashboard's Översikt in headless Chromium")]
struct Args {
    /// Projects in the demo portfolio.
    #[arg(long, default_value_t = 10_000)]
    projects: usize,
    /// Page loads after the first.
    #[arg(long, default_value_t = 10)]
    repeat: usize,
    /// The service binary (built with `cargo build --release`).
    #[arg(long, default_value = "target/release/uppfoljning")]
    server: PathBuf,
    #[arg(long, default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
    #[arg(long, default_value = "/usr/bin/chromedriver")]
    chromedriver: PathBuf,
}

const SECRET: &str = "bench-secret-bench-secret-bench-secret";

/// The demo portfolio's seed, given to `demo-data` and to the writes that move its values.
const SEED: u64 = 2026;

/// The portfolio `demo-data` loads with `SEED`, generated again here to write to it.
fn portfolio(projects: usize) -> demo::Portfolio {
    demo::generate(&DemoSpec {
        projects,
        seed: SEED,
        from: PeriodId::parse("2022H1").expect("period"),
        to: PeriodId::parse("2026H2").expect("period"),
        today: swedish_today(),
    })
}

/// A child process stopped when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn service(args: &Args, database: &str) -> Command {
    let mut command = Command::new(&args.server);
    command
        .env("DATABASE_URL", database)
        .env("JWT_SECRET", SECRET)
        // One national caller reloads the Översikt, 21 requests each, as fast as it
        // completes: measured is the page, not the per-caller limit it would soon meet.
        .env("RATE_LIMIT_PER_SECOND", "0")
        .env("RUST_LOG", "warn");
    command
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let folder = std::env::temp_dir().join(format!("dashboard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
    let database = folder.join("demo.db").to_string_lossy().into_owned();
    let loading = Instant::now();
    let loaded = service(&args, &database)
        .args([
            "demo-data",
            "--projects",
            &args.projects.to_string(),
            "--seed",
            &SEED.to_string(),
        ])
        .status()
        .map_err(|e| {
            format!(
                "{}: {e} (cargo build --release first)",
                args.server.display()
            )
        })?;
    if !loaded.success() {
        return Err("demo-data failed".into());
    }
    eprintln!("demo data: {:.1} s", loading.elapsed().as_secs_f64());
    let token = |role: &str| -> Result<String, String> {
        let printed = service(&args, &database)
            .args(["token", "--role", role, "--ttl", "3600"])
            .output()
            .map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&printed.stdout).trim().to_string())
    };
    let tokens = Tokens {
        national: token("national")?,
        admin: token("admin")?,
    };
    let port = free_port();
    let _server = Process(
        service(&args, &database)
            .arg("serve")
            .env("BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let base = format!("http://127.0.0.1:{port}");
    let driver_port = free_port();
    let _driver = Process(
        Command::new(&args.chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", args.chromedriver.display()))?,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = runtime.block_on(measure(&args, &base, &tokens, driver_port));
    let _ = std::fs::remove_dir_all(&folder);
    result
}

/// The page signs in as a national analyst; the writes are an admin's.
struct Tokens {
    national: String,
    admin: String,
}

async fn connect(args: &Args, port: u16) -> Result<Client, String> {
    let capabilities = json!({"goog:chromeOptions": {
        "binary": args.chromium,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"],
    }});
    let started = Instant::now();
    loop {
        let connected =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.as_object().cloned().unwrap_or_default())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
        match connected {
            Ok(client) => return Ok(client),
            Err(e) if started.elapsed() > Duration::from_secs(20) => return Err(e.to_string()),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One load of the Översikt, in milliseconds from navigation: when the page itself was loaded
/// (its scripts run, before any figure), when its sign-in was answered, when the reference
/// data was, when the first aggregate was asked and the last answered, and when every figure
/// was drawn; and its requests to the API.
struct Load {
    page: f64,
    session: f64,
    references: f64,
    asked: f64,
    answered: f64,
    complete: f64,
    requests: usize,
}

impl Load {
    /// The medians of each moment over `loads`.
    fn median(loads: &[Load]) -> Load {
        let of = |moment: fn(&Load) -> f64| median(loads.iter().map(moment).collect());
        Load {
            page: of(|l| l.page),
            session: of(|l| l.session),
            references: of(|l| l.references),
            asked: of(|l| l.asked),
            answered: of(|l| l.answered),
            complete: of(|l| l.complete),
            requests: loads.first().map_or(0, |l| l.requests),
        }
    }

    /// Where the time of a load went, moment by moment.
    fn phases(&self) -> String {
        format!(
            "page loaded {:.0}, sign-in answered {:.0}, reference data answered {:.0}, first aggregate asked {:.0}, last answered {:.0}, drawn {:.0} ms",
            self.page, self.session, self.references, self.asked, self.answered, self.complete
        )
    }
}

/// Loads the Översikt and gives the moments of the load.
async fn load_overview(client: &Client, base: &str, load: usize) -> Result<Load, String> {
    // A query of its own makes each load a new page, not a move within the last one.
    client
        .goto(&format!("{base}/dashboard/?load={load}#oversikt"))
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        let measured = client
            .execute(
                "const mark = performance.getEntriesByName('oversikt-klar')[0];
                 if (!mark) return null;
                 const requests = performance.getEntriesByType('resource')
                   .map(r => ({path: new URL(r.name).pathname, start: r.startTime, end: r.responseEnd}));
                 const api = requests.filter(r => r.path.startsWith('/api/v1/'));
                 const aggregates = api.filter(r => r.path.startsWith('/api/v1/aggregates'));
                 const last = (list) => Math.max(0, ...list.map(r => r.end));
                 return {
                   page: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
                   session: last(requests.filter(r => r.path === '/auth/session')),
                   references: last(api.filter(r => !r.path.startsWith('/api/v1/aggregates'))),
                   asked: Math.min(...aggregates.map(r => r.start)),
                   answered: last(aggregates),
                   complete: mark.startTime,
                   requests: api.length,
                 };",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        if measured.is_object() {
            let moment = |name: &str| measured[name].as_f64().unwrap_or_default();
            return Ok(Load {
                page: moment("page"),
                session: moment("session"),
                references: moment("references"),
                asked: moment("asked"),
                answered: moment("answered"),
                complete: moment("complete"),
                requests: measured["requests"].as_u64().unwrap_or_default() as usize,
            });
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the Översikt did not complete".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The same answers the page asks for, by a plain client six at a time.
fn floor(base: &str, token: &str, paths: &[String]) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for worker in 0..6 {
            scope.spawn(move || {
                for path in paths.iter().skip(worker).step_by(6) {
                    let _ = ureq::get(&format!("{base}{path}"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .call()
                        .map(|mut r| r.body_mut().read_to_string());
                }
            });
        }
    });
    started.elapsed().as_secs_f64() * 1000.0
}

async fn measure(args: &Args, base: &str, tokens: &Tokens, driver_port: u16) -> Result<(), String> {
    let token = tokens.national.as_str();
    for _ in 0..100 {
        if ureq::get(&format!("{base}/health/ready")).call().is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let client = connect(args, driver_port).await?;
    client
        .goto(&format!("{base}/dashboard/"))
        .await
        .map_err(|e| e.to_string())?;
    client
        .execute(
            "sessionStorage.setItem('uppfoljning.token', arguments[0]);",
            vec![json!(token)],
        )
        .await
        .map_err(|e| e.to_string())?;
    let first = load_overview(&client, base, 0).await?;
    let mut again = Vec::new();
    for load in 1..=args.repeat {
        again.push(load_overview(&client, base, load).await?);
    }
    let writes = writes::changed_values(&portfolio(args.projects), 1);
    let agent = ureq::Agent::new_with_defaults();
    let mut after_write = Vec::new();
    for load in 1..=args.repeat {
        let (region, chunk) = writes::shifted(&writes, load);
        writes::submit(&agent, base, &tokens.admin, region, &chunk)?;
        after_write.push(load_overview(&client, base, args.repeat + load).await?);
    }
    let paths: Vec<String> = client
        .execute(
            "return performance.getEntriesByType('resource')
               .map(r => new URL(r.name)).filter(u => u.pathname.startsWith('/api/v1/'))
               .map(u => u.pathname + u.search);",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?
        .as_array()
        .map(|paths| {
            paths
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let floors: Vec<f64> = (0..args.repeat)
        .map(|_| floor(base, token, &paths))
        .collect();
    // Each load against its own page: the machine's pace drifts between the kept loads
    // and the loads after a write.
    let own_page = |loads: &[Load]| median(loads.iter().map(|l| l.complete / l.page).collect());
    let (kept_own, written_own) = (own_page(&again), own_page(&after_write));
    let again = Load::median(&again);
    let after_write = Load::median(&after_write);
    let floor = median(floors);
    let page = again.page;
    let requests = first.requests;
    let (first, kept, written) = (first.complete, again.complete, after_write.complete);
    println!("Översikt, {} projects:", args.projects);
    println!("  first load (answers computed): {first:.0} ms");
    println!(
        "  again (kept answers), median of {}: {kept:.0} ms; floor (the same {} API answers by a plain client, 6 at a time): {floor:.0} ms; page/floor {:.1}x",
        args.repeat,
        paths.len(),
        kept / floor
    );
    println!(
        "  the page alone (loaded, scripts run, no figure yet): {page:.0} ms; complete/page {:.1}x",
        kept / page
    );
    println!(
        "  right after a one-value write (every answer computed anew), median of {}: {written:.0} ms; after a write/page {:.1}x, after a write/kept {:.1}x",
        args.repeat,
        written / page,
        written / kept
    );
    println!(
        "  each load against its own page alone, median: kept {kept_own:.2}x, after a write {written_own:.2}x"
    );
    println!("  kept answers, medians: {}", again.phases());
    println!("  after a write, medians: {}", after_write.phases());
    println!("  API requests per load: {requests}");
    println!(
        "{}",
        json!({"view": "oversikt", "projects": args.projects, "first_ms": first.round(),
               "again_ms": kept.round(), "after_write_ms": written.round(), "floor_ms": floor.round(), "page_ms": page.round(),
               "api_requests": requests,
               "after_write_answered_ms": after_write.answered.round(), "kept_answered_ms": again.answered.round(),
               "kept_own_page_ratio": kept_own, "after_write_own_page_ratio": written_own})
    );
    client.close().await.map_err(|e| e.to_string())
}
