//! Connection limits over a real port (`docs/security.md`, `server/src/connections.rs`): idle,
//! half-header and trickling connections are closed within the configured times, a flood
//! from one address leaves others served, and past the overall cap health checks and
//! signed-in reviewers still get in while anonymous requests get 503.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::{RealServer, TestServer};
use siteproof_server::ServerConfig;
use siteproof_server::backoffice::{NewUser, Role};
use siteproof_server::connections::ConnectionLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Short times, so the test sees them pass: 1 s for a head, 1 KiB per 1 s window.
fn quick() -> ConnectionLimits {
    ConnectionLimits {
        header_read: Duration::from_secs(1),
        floor_bytes: 1024,
        floor_window: Duration::from_secs(1),
        ..ConnectionLimits::default()
    }
}

/// Long times and small caps, so only the caps act.
fn capped() -> ConnectionLimits {
    ConnectionLimits {
        header_read: Duration::from_secs(60),
        floor_window: Duration::from_secs(60),
        per_address: 8,
        overall: 16,
        reserve: 4,
        ..ConnectionLimits::default()
    }
}

async fn server_with(limits: ConnectionLimits) -> (TestServer, RealServer) {
    let config = ServerConfig {
        connections: limits,
        ..ServerConfig::default()
    };
    let server = TestServer::with_config(config).await;
    let real = RealServer::start(&server).await;
    (server, real)
}

async fn connect_from(last: u8, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::from([127, 0, 0, last]), 0))
        .expect("bind");
    socket.connect(to).await.expect("connect")
}

/// Reads until the server closes; what it sent and how long it took from `since`.
async fn until_closed(stream: &mut TcpStream, since: Instant) -> (String, Duration) {
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "still open after 10 s");
    (String::from_utf8_lossy(&got).into_owned(), since.elapsed())
}

/// One request on a fresh connection from `127.0.0.<last>`; the status.
async fn status_of(last: u8, to: SocketAddr, path: &str, extra: &str) -> u16 {
    let mut s = connect_from(last, to).await;
    let head = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(head.as_bytes()).await.expect("send");
    let (answer, _) = until_closed(&mut s, Instant::now()).await;
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[tokio::test]
async fn silent_half_header_and_idle_keep_alive_connections_are_closed_after_the_header_time() {
    let (_server, real) = server_with(quick()).await;
    let limit = quick().header_read + Duration::from_millis(1500);

    let mut silent = connect_from(1, real.addr).await;
    let (got, took) = until_closed(&mut silent, Instant::now()).await;
    assert!(
        took < limit && !got.contains("200"),
        "silent: {took:?} {got:?}"
    );

    let mut half = connect_from(1, real.addr).await;
    let start = Instant::now();
    half.write_all(b"GET /v1/health HTTP/1.1\r\nHost: t\r\n")
        .await
        .expect("half a head");
    let (got, took) = until_closed(&mut half, start).await;
    assert!(
        took < limit && !got.contains("200 OK"),
        "half: {took:?} {got:?}"
    );

    let mut idle = connect_from(1, real.addr).await;
    idle.write_all(b"GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("a request");
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.expect("answer");
    assert_eq!(&first, b"HTTP/1.1 200");
    let (_, took) = until_closed(&mut idle, Instant::now()).await;
    assert!(took < limit, "idle keep-alive: {took:?}");
}

#[tokio::test]
async fn a_body_trickled_below_the_floor_is_cut() {
    let (_server, real) = server_with(quick()).await;
    let mut s = connect_from(1, real.addr).await;
    let start = Instant::now();
    s.write_all(
        b"POST /v1/enroll HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: 10000\r\n\r\n{",
    )
    .await
    .expect("head");
    // 10 bytes a second against a floor of 1 KiB a second.
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if s.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let cut = tokio::time::timeout(Duration::from_secs(10), trickle).await;
    let took = start.elapsed();
    assert!(cut.is_ok(), "the trickle was never cut");
    let bound = quick().floor_window * 2 + Duration::from_millis(1500);
    assert!(took < bound, "cut after {took:?} (bound {bound:?})");
}

#[tokio::test]
async fn a_flood_from_one_address_leaves_others_served_and_the_reserve_serves_health_and_reviewers()
{
    let (server, real) = server_with(capped()).await;
    server
        .state
        .backoffice
        .create_user(NewUser {
            login: "rev".into(),
            name: "rev".into(),
            password: "correct horse battery".into(),
            role: Role::Reviewer,
            region: "hebei".into(),
            sectors: vec![],
        })
        .await
        .expect("user");
    let (session, _) = server
        .state
        .backoffice
        .login("rev", "correct horse battery", "127.0.0.9")
        .await
        .expect("session");

    // One address opens 40 idle connections: 8 stay, the rest are closed at once.
    let mut flood = Vec::new();
    for _ in 0..40 {
        flood.push(connect_from(1, real.addr).await);
    }
    let mut closed = 0;
    for s in &mut flood {
        let mut b = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 40 - capped().per_address, "per-address cap");
    assert_eq!(status_of(2, real.addr, "/v1/health", "").await, 200);

    // Others fill the overall cap (8 held by address 1, 8 more from 3 and 4).
    for last in [3, 4] {
        for _ in 0..4 {
            flood.push(connect_from(last, real.addr).await);
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(status_of(5, real.addr, "/v1/health", "").await, 200);
    assert_eq!(status_of(5, real.addr, "/office/login", "").await, 503);
    let cookie = format!("Cookie: sp_session={session}\r\n");
    assert_eq!(
        status_of(6, real.addr, "/office/visits", &cookie).await,
        200
    );
    drop(flood);
}
