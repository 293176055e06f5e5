//! A few scenarios over a real TCP server on port 0, with graceful shutdown.

mod common;

use std::net::SocketAddr;

use common::*;
use siteproof_core::sync::wire::{self, SyncRequest, SyncResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(server: &TestServer) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let state = server.state.clone();
    let done = tokio::spawn(async move {
        siteproof_server::serve(listener, state, async {
            let _ = stopped.await;
        })
        .await
    });
    Running { addr, stop, done }
}

/// One HTTP/1.1 request; returns status and body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    // The server may answer (413) before reading a large body; a failed write is fine then.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw).await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, raw[split + 4..].to_vec())
}

async fn sync(addr: SocketAddr, token: &str, req: &SyncRequest) -> SyncResponse {
    let headers = [
        ("Authorization", format!("Bearer {token}")),
        ("Content-Type", wire::CONTENT_TYPE.to_string()),
    ];
    let (status, body) = http(addr, "POST", "/v1/sync", &headers, &wire::encode(req)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    wire::decode(&body).expect("response")
}

#[tokio::test]
async fn two_phones_sync_over_a_real_socket_and_the_server_stops_gracefully() {
    let server = TestServer::new().await;
    let running = start(&server).await;
    let (status, body) = http(running.addr, "GET", "/v1/health", &[], b"").await;
    assert_eq!((status, &body[..]), (200, &br#"{"status":"ok"}"#[..]));

    let mut a = Phone::enroll(&server, "g1").await;
    let mut b = Phone::enroll(&server, "g1").await;
    let visit = a.capture_visit("真实网络");
    let req = a.request(1 << 20);
    let resp = sync(running.addr, &a.token, &req).await;
    a.apply(&resp);
    assert_eq!(a.store.outbox_len().expect("outbox"), 0);
    let req = b.request(1 << 20);
    let resp = sync(running.addr, &b.token, &req).await;
    b.apply(&resp);
    assert_eq!(b.store.visit(&visit).expect("visit").site.name, "真实网络");

    running.stop.send(()).expect("stop");
    running
        .done
        .await
        .expect("join")
        .expect("served and stopped cleanly");
    assert!(
        tokio::net::TcpStream::connect(running.addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn a_declared_body_over_the_limit_gets_a_json_413_before_it_is_sent() {
    let config = siteproof_server::ServerConfig {
        sync_body_limit: 1024,
        ..Default::default()
    };
    let server = TestServer::with_config(config).await;
    let a = Phone::enroll(&server, "g1").await;
    let running = start(&server).await;
    let headers = [
        ("Authorization", format!("Bearer {}", a.token)),
        ("Content-Type", wire::CONTENT_TYPE.to_string()),
    ];
    let (status, body) = http(running.addr, "POST", "/v1/sync", &headers, &vec![0u8; 4096]).await;
    assert_eq!(status, 413);
    let v: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&body)));
    assert_eq!(v["error"], "payload_too_large");
    let (status, _) = http(running.addr, "GET", "/v1/health", &[], b"").await;
    assert_eq!(status, 200);
    running.stop.send(()).expect("stop");
    running.done.await.expect("join").expect("clean stop");
}
