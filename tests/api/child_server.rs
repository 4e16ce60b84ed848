//! The real binary served in a child process, for the tests that need a process of its own:
//! one killed midway, one under a memory limit, one whose clock is set off.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::SECRET;
use uppfoljning::config::DatabaseUrl;

/// The server on `url` at `port`; with `address_space` its address space is limited to that
/// many bytes, as `ulimit -v` does, so that an allocation past it fails (and ends the
/// process) instead of taking the machine's memory.
pub fn start(url: &DatabaseUrl, port: u16, address_space: Option<u64>) -> Child {
    let mut command = command(url, port);
    if let Some(bytes) = address_space {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    command.spawn().expect("start the server")
}

/// The server on `url` at `port` with its clock set `seconds` off the true time.
pub fn start_with_clock_offset(url: &DatabaseUrl, port: u16, seconds: i64) -> Child {
    command(url, port)
        .env("CLOCK_OFFSET_SECONDS", seconds.to_string())
        .spawn()
        .expect("start the server")
}

fn command(url: &DatabaseUrl, port: u16) -> Command {
    let database = match url {
        DatabaseUrl::Postgres(url) => url.clone(),
        DatabaseUrl::Sqlite(path) => path.to_string_lossy().into_owned(),
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_uppfoljning"));
    command
        .env("DATABASE_URL", database)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", String::from_utf8(SECRET.to_vec()).unwrap())
        .env("RUST_LOG", "error")
        // The tests of a process of its own are about memory and faults, not rates.
        .env("RATE_LIMIT_PER_SECOND", "0")
        // glibc reserves 64 MiB of address space per arena, one per thread by default: a
        // limit of the address space then measures threads, not memory.
        .env("MALLOC_ARENA_MAX", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

/// A client that waits long enough for a debug build reading a hostile file on a machine
/// busy with other builds: the limit only guards against a server that never answers.
pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build(),
    )
}

pub fn wait_ready(port: u16) {
    for _ in 0..200 {
        if agent()
            .get(format!("http://127.0.0.1:{port}/health/ready"))
            .call()
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not start");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
