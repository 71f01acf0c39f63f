//! A stand-in for a broken release, for `vivr deploy rehearse`'s tests: a tiny HTTP server on port 3000 (std
//! only, linked statically, packaged `FROM scratch`) that exposes request counters in vivr's `/metrics` format.
//! `server` serves; `server errors` answers 500 to every tenth page; `server unhealthy` fails its health check;
//! `server exit` exits 3 at once; `server check` is the image's HEALTHCHECK (GET /api/health, exit 0 on 200).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};

static PAGES: AtomicU64 = AtomicU64::new(0);
static OK: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "check" => std::process::exit(if healthy() { 0 } else { 1 }),
        "exit" => std::process::exit(3),
        _ => {}
    }
    let listener = TcpListener::bind("0.0.0.0:3000").expect("bind 3000");
    for stream in listener.incoming().flatten() {
        let mode = mode.clone();
        std::thread::spawn(move || answer(stream, &mode));
    }
}

fn healthy() -> bool {
    let Ok(mut stream) = TcpStream::connect("127.0.0.1:3000") else {
        return false;
    };
    let mut answer = String::new();
    stream.write_all(b"GET /api/health HTTP/1.0\r\n\r\n").is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

fn answer(mut stream: TcpStream, mode: &str) {
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (status, body) = match path.as_str() {
        "/metrics" => (
            200,
            format!(
                "vivr_http_requests_total{{method=\"GET\",route=\"/\",status=\"200\"}} {}\n\
                 vivr_http_requests_total{{method=\"GET\",route=\"/\",status=\"500\"}} {}\n",
                OK.load(Ordering::SeqCst),
                FAILED.load(Ordering::SeqCst)
            ),
        ),
        "/api/health" if mode == "unhealthy" => (503, "unavailable".to_string()),
        "/api/health" => (200, "{\"status\":\"ok\"}".to_string()),
        _ if mode == "errors" && PAGES.fetch_add(1, Ordering::SeqCst) % 10 == 0 => (500, "boom".to_string()),
        _ => (200, "ok".to_string()),
    };
    if path != "/metrics" {
        if status >= 500 { &FAILED } else { &OK }.fetch_add(1, Ordering::SeqCst);
    }
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}
