//! PostgreSQL going away and coming back while the service runs.
//!
//! The outage is made by a TCP proxy between the service and the test server: stopping the
//! proxy cuts every open connection and refuses new ones, as a stopped server does, without
//! stopping the server that the other tests run on at the same time.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::test::{self, TestRequest};
use serde_json::json;

use crate::common::{Backend, TestApp, get, post_json, postgres_url, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::config::DatabaseUrl;

struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (accepting, tracked) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !accepting.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut tracked = tracked.lock().unwrap();
                tracked.push(client.try_clone().unwrap());
                tracked.push(server.try_clone().unwrap());
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy { port, up, open }
    }

    /// Cuts every connection and refuses new ones.
    fn stop(&self) {
        self.up.store(false, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn resume(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// The `host:port` of a `postgres://user:password@host:port/database` URL.
fn authority(url: &str) -> &str {
    let after_scheme = &url[url.find("://").expect("a URL") + 3..];
    let authority = after_scheme.split(['/', '?']).next().unwrap();
    authority.rsplit('@').next().unwrap()
}

#[actix_web::test]
async fn a_database_outage_is_503_and_the_service_recovers_by_itself() {
    let Some(server_url) = postgres_url() else {
        eprintln!("TEST_POSTGRES_URL is not set: PostgreSQL outage not tested");
        return;
    };
    let upstream = authority(&server_url).to_string();
    let upstream = match upstream.contains(':') {
        true => upstream,
        false => format!("{upstream}:5432"),
    };
    let proxy = Proxy::start(upstream.clone());
    let t = TestApp::start_with(Backend::Postgres, |config| {
        let DatabaseUrl::Postgres(url) = &config.database else {
            unreachable!("a PostgreSQL test")
        };
        let through_proxy = url.replacen(&upstream, &format!("127.0.0.1:{}", proxy.port), 1);
        config.database = DatabaseUrl::Postgres(through_proxy);
    });
    let app = test::init_service(build_app(t.state.clone())).await;
    let reader = t.token(Role::National, None);
    let admin = t.admin();
    let indicator = |code: &str| {
        json!({"code": code, "name_sv": "Test", "name_en": "Test", "unit": "st",
               "level": "utfall", "aggregation": "sum"})
    };
    let ready = || TestRequest::get().uri("/health/ready");
    assert_eq!(send(&app, ready()).await.status, 200);

    proxy.stop();
    let outage = Instant::now();
    let not_ready = send(&app, ready()).await;
    not_ready.problem(503);
    assert!(not_ready.headers.contains_key("retry-after"));
    send(&app, get("/api/v1/indicators", &reader))
        .await
        .problem(503);
    let write = post_json("/api/v1/indicators", &admin, &indicator("NAT-OUT1"));
    send(&app, write).await.problem(503);
    assert!(
        outage.elapsed() < Duration::from_secs(30),
        "answered within the pool's wait, not hung: {:?}",
        outage.elapsed()
    );

    proxy.resume();
    let back = Instant::now();
    while send(&app, ready()).await.status != 200 {
        assert!(back.elapsed() < Duration::from_secs(30), "did not recover");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        send(&app, get("/api/v1/indicators", &reader)).await.status,
        200
    );
    let write = post_json("/api/v1/indicators", &admin, &indicator("NAT-OUT2"));
    assert_eq!(send(&app, write).await.status, 201);
    // The write refused during the outage was not stored; the one after it was.
    assert_eq!(t.count("indicators WHERE code LIKE 'NAT-OUT%'"), 1);
}
