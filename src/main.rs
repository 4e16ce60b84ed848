//! The command line of uppfoljning: serve (the default), migrate, token, openapi.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

use uppfoljning::app;
use uppfoljning::auth::{Role, TokenKeys};
use uppfoljning::config::Config;
use uppfoljning::demo::{self, DemoSpec};
use uppfoljning::domain::codes::RegionCode;
use uppfoljning::domain::period::{PeriodId, swedish_today};
use uppfoljning::error::AppError;
use uppfoljning::service::{demo_data, snapshots};
use uppfoljning::state::AppState;
use uppfoljning::views::aggregates::ReportBasis;
use uppfoljning::views::snapshots::SnapshotSummary;

#[derive(Parser)]
#[command(
    name = "uppfoljning",
    version,
    about = "National follow-up of 1:1-funded regional growth projects"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve HTTP on BIND (the default command).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Print one signed token (HS256 with the configured or generated secret).
    Token {
        /// region, national, scheduler or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The region's län code; required with --role region.
        #[arg(long, value_parser = parse_region)]
        region: Option<RegionCode>,
        /// The token's subject: who or which system it is for.
        #[arg(long, default_value = "cli")]
        sub: String,
        /// Seconds until the token expires.
        #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=31_622_400))]
        ttl: u64,
    },
    /// Freeze the national figures of a period (as POST /api/v1/snapshots) and print the
    /// snapshot; for cron.
    Snapshot {
        /// YYYY, YYYYH1, YYYYH2 or a range.
        #[arg(long)]
        period: String,
        #[arg(long, default_value = "Schemalagd ögonblicksbild")]
        label: String,
        /// RFC 3339 instant; default now.
        #[arg(long)]
        as_of: Option<String>,
        /// `all` stored values count, or only those of `accepted` reports.
        #[arg(long, default_value = "all", value_parser = parse_basis)]
        reports: ReportBasis,
    },
    /// Load a realistic synthetic national portfolio (all 21 regions) through the same
    /// checks and storage as a submission.
    DemoData {
        /// How many projects in all.
        #[arg(long, default_value_t = 300)]
        projects: usize,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// The first half-year.
        #[arg(long, default_value = "2022H1", value_parser = parse_half_year)]
        from: PeriodId,
        /// The last half-year.
        #[arg(long, default_value = "2026H2", value_parser = parse_half_year)]
        to: PeriodId,
    },
    /// Print the OpenAPI document.
    Openapi,
}

fn parse_half_year(text: &str) -> Result<PeriodId, String> {
    PeriodId::parse(text)
        .filter(|p| matches!(p, PeriodId::HalfYear { .. }))
        .ok_or_else(|| "expected a half-year such as 2022H1".into())
}

fn parse_basis(text: &str) -> Result<ReportBasis, String> {
    match text {
        "all" => Ok(ReportBasis::All),
        "accepted" => Ok(ReportBasis::Accepted),
        _ => Err("expected all or accepted".into()),
    }
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "expected region, national, scheduler or admin".into())
}

fn parse_region(text: &str) -> Result<RegionCode, String> {
    RegionCode::parse(text).ok_or_else(|| "expected a län code such as 07".into())
}

fn main() -> ExitCode {
    tune_malloc();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    // A missing .env is normal; settings then come from the environment alone.
    let _ = dotenvy::dotenv();
    // The server logs what it serves; a command run by hand shows its progress instead, and
    // logs only what went wrong.
    let default_level = match command {
        Command::Serve => "info",
        _ => "warn",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // LOG_FORMAT=json gives one JSON object per line, with the request's span fields
    // (request id, method, path) on every line, for log collectors.
    if std::env::var("LOG_FORMAT").is_ok_and(|format| format == "json") {
        logs.json().with_current_span(true).init();
    } else {
        logs.init();
    }
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("uppfoljning: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Openapi => {
            let document = uppfoljning::api::openapi_document();
            println!("{}", document.to_pretty_json().map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Token {
            role,
            region,
            sub,
            ttl,
        } => {
            if (role == Role::Region) != region.is_some() {
                return Err("--region is required with --role region, and only with it".into());
            }
            let config = Config::from_env().map_err(|e| e.to_string())?;
            let keys = TokenKeys::load(&config).map_err(|e| e.to_string())?;
            println!("{}", keys.sign(&sub, role, region.as_ref(), ttl)?);
            Ok(())
        }
        Command::Snapshot {
            period,
            label,
            as_of,
            reports,
        } => {
            let mut request =
                snapshots::check(&period, &label, as_of.as_deref()).map_err(|e| describe(&e))?;
            request.basis = reports;
            let state = open_state()?;
            let mut conn = state.pool.get().map_err(|e| format!("database: {e}"))?;
            let working = spinner(format!("computing the figures of {period}"));
            let row =
                snapshots::create(&mut conn, &request, "cli", None).map_err(|e| describe(&e))?;
            working.finish_and_clear();
            let summary = serde_json::to_string_pretty(&SnapshotSummary::from(&row))
                .map_err(|e| e.to_string())?;
            println!("{summary}");
            Ok(())
        }
        Command::DemoData {
            projects,
            seed,
            from,
            to,
        } => {
            if to < from {
                return Err("--to must not be before --from".into());
            }
            let state = open_state()?;
            let spec = DemoSpec {
                projects,
                seed,
                from,
                to,
                today: swedish_today(),
            };
            load_demo_data(&state, &spec)
        }
        Command::Migrate => {
            open_state()?;
            eprintln!("uppfoljning: the database is migrated");
            Ok(())
        }
        Command::Serve => {
            let config = Config::from_env().map_err(|e| e.to_string())?;
            uppfoljning::domain::clock::set_offset(config.clock_offset_seconds);
            let state = AppState::open(config).map_err(|e| e.to_string())?;
            actix_web::rt::System::new()
                .block_on(app::serve(state))
                .map_err(|e| format!("server: {e}"))
        }
    }
}

/// One line for the terminal: the problem's detail and each invalid field.
fn describe(error: &AppError) -> String {
    if let AppError::Internal(_) | AppError::Unavailable(_) = error {
        return error.to_string();
    }
    let problem = error.problem();
    let mut line = problem.detail;
    for field in problem.errors {
        line.push_str(&format!("; {}: {}", field.field, field.message));
    }
    line
}

/// Opens the configured database and applies pending migrations, with a spinner on a
/// terminal: a migration of a large database can take a while.
fn open_state() -> Result<AppState, String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let working = spinner("opening and migrating the database".into());
    let state = AppState::open(config).map_err(|e| e.to_string());
    working.finish_and_clear();
    state
}

/// A spinner with `message` on a terminal; nothing otherwise.
fn spinner(message: String) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

/// Generates the portfolio and stores it, with a progress bar on a terminal and one line
/// when done.
fn load_demo_data(state: &AppState, spec: &DemoSpec) -> Result<(), String> {
    let mut conn = state.pool.get().map_err(|e| format!("database: {e}"))?;
    let generating = spinner(format!("generating {} projects", spec.projects));
    let portfolio = demo::generate(spec);
    generating.finish_and_clear();
    let total = demo_data::item_count(&portfolio) as u64;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} items, {eta} left")
                .map_err(|e| e.to_string())?,
        )
    } else {
        ProgressBar::hidden()
    };
    bar.set_message("storing");
    let loaded = demo_data::load(&mut conn, spec, portfolio, |items| bar.inc(items as u64))
        .map_err(|e| describe(&e))?;
    bar.finish_and_clear();
    eprintln!(
        "demo data: {} projects, {} values and {} narratives stored or changed",
        loaded.projects, loaded.values, loaded.narratives
    );
    Ok(())
}

/// glibc gives each thread that allocates its own memory arena and rarely returns an
/// arena's memory; the blocking threads that compute answers then each keep the peak of
/// the largest answer they computed. Two arenas keep the server's peak memory at about half
/// (measured in docs/benchmarks.md). And glibc serves a block of up to 32 MB from an arena
/// once a block that large was freed (its threshold for a block of its own grows with
/// every one freed): a bulk submission's rows, a page cache, an answer then stay in the
/// arenas after they are freed. A block of 256 KiB or more is always a mapping of its own,
/// given back when freed: the peak with the benchmark's open-loop writer 199–215 → 188 MB
/// at 1M values on SQLite, with no loss of pace (run 14). Called first, before any thread
/// starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: mallopt only changes allocator settings; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
