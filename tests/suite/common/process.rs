//! Process-level helpers: the real `vivr` binary on a real socket, a small blocking HTTP/1.1 client that notices
//! truncated answers, and a private PostgreSQL cluster a test may stop and start.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A running `vivr serve`. Killed when dropped.
pub struct Vivr {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

/// The `vivr` binary, uncoloured, with none of the environment variables that would change its behaviour.
fn vivr_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vivr"));
    command
        .args(["--color", "never"])
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env_remove("VIVR_LOG_FORMAT");
    command
}

/// Runs `vivr` with `args` to completion: (exit status, stdout, stderr).
pub fn vivr_output(args: &[&str], stdin: Option<&str>) -> (ExitStatus, String, String) {
    vivr_output_env(args, stdin, &[])
}

/// [`vivr_output`] with extra environment variables.
pub fn vivr_output_env(
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (ExitStatus, String, String) {
    let mut child = vivr_command()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vivr");
    {
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).expect("write stdin");
        }
    }
    let output = child.wait_with_output().expect("vivr output");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

impl Vivr {
    /// Starts `vivr serve` on a free loopback port with `args` and waits until it listens.
    pub fn serve(args: &[&str]) -> Vivr {
        Vivr::serve_env(args, &[])
    }

    /// [`Vivr::serve`] with `env` added to its environment.
    pub fn serve_env(args: &[&str], env: &[(&str, &str)]) -> Vivr {
        let mut child = vivr_command()
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vivr serve");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("Listening at http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(addr.parse::<SocketAddr>().ok());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Some(addr)) => {
                    return Vivr { child, addr, log };
                }
                Ok(None) => panic!("unparsable listen address in:\n{}", log.lock().unwrap()),
                Err(_) => {
                    if let Some(status) = child.try_wait().expect("try_wait") {
                        std::thread::sleep(Duration::from_millis(200));
                        panic!(
                            "vivr serve exited with {status} before listening:\n{}",
                            log.lock().unwrap()
                        );
                    }
                    assert!(
                        Instant::now() < deadline,
                        "vivr serve did not listen within 90 s:\n{}",
                        log.lock().unwrap()
                    );
                }
            }
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread catch the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        http(self.addr, "GET", path, &[], b"")
            .unwrap_or_else(|err| panic!("GET {path}: {err}\n{}", self.log()))
    }
}

impl Drop for Vivr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The cookies the answer sets, as a `Cookie` header sends them back (`a=1; b=2`).
    pub fn cookies(&self) -> String {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.split(';').next().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text()))
    }
}

/// Signs in through the API of the shop at `addr`: the answer (asserted 200).
pub fn api_login(addr: SocketAddr, email: &str, password: &str) -> HttpResponse {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let r = http(
        addr,
        "POST",
        "/api/v1/auth/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r
}

/// One request on a fresh connection (`Connection: close`). An answer cut short — missing bytes of a
/// Content-Length body or an unfinished chunked body — is an error, not a response.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    send_request(&mut stream, addr, method, path, headers, body)?;
    read_response(&mut stream)
}

pub fn send_request(
    stream: &mut TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn invalid(message: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.into())
}

pub fn read_response(stream: &mut TcpStream) -> std::io::Result<HttpResponse> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid(format!("no complete head in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        decode_chunked(rest)?
    } else if let Some(length) = find("content-length") {
        let length: usize = length.parse().map_err(|_| invalid("bad content-length"))?;
        if rest.len() != length {
            return Err(invalid(format!(
                "body of {} bytes, content-length {length}",
                rest.len()
            )));
        }
        rest.to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn decode_chunked(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("truncated chunk size"))?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid("bad chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if data.len() < size + 2 {
            return Err(invalid("truncated chunk"));
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Cookies kept across requests, as a browser would (names and values only).
#[derive(Default)]
pub struct CookieJar(BTreeMap<String, String>);

impl CookieJar {
    pub fn update(&mut self, response: &HttpResponse) {
        for (_, value) in response
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        {
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((name, v)) = pair.split_once('=') {
                let expired = value.to_ascii_lowercase().contains("max-age=0");
                if expired || v.is_empty() {
                    self.0.remove(name.trim());
                } else {
                    self.0.insert(name.trim().to_string(), v.trim().to_string());
                }
            }
        }
    }

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A free loopback port (bound then released; good enough for tests).
/// Spawns `command` and waits until something listens on loopback `port` (up to 30 s: a Python server's imports
/// take seconds on two cores busy with the rest of the suite); panics naming `what` otherwise.
pub fn spawn_listening(mut command: Command, port: u16, what: &str) -> std::process::Child {
    let mut child = command
        .spawn()
        .unwrap_or_else(|err| panic!("{what} could not be started: {err}"));
    for _ in 0..600 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what} did not listen on {port}");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A PostgreSQL cluster of the test's own, so the test may stop and restart it. Needs the server binaries
/// (`VIVR_TEST_PG_BIN`, exported by `scripts/test`); in CI their absence fails the test.
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    as_postgres: bool,
}

impl PgCluster {
    pub fn start() -> Option<PgCluster> {
        let bin = match std::env::var("VIVR_TEST_PG_BIN") {
            Ok(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => return super::missing_component("VIVR_TEST_PG_BIN", "run scripts/test"),
        };
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let dir = tempfile::Builder::new()
            .prefix("vivr-pg-own.")
            .tempdir()
            .expect("tempdir");
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres", &dir.path().display().to_string()])
                .status()
                .expect("chown");
            assert!(ok.success(), "chown postgres");
        }
        let cluster = PgCluster {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        cluster.start_server();
        Some(cluster)
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// A PostgreSQL tool, run as the cluster's owner.
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let output = self
            .command(tool)
            .args(args)
            .output()
            .expect("run a PostgreSQL tool");
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Turns TLS on with this certificate and key (files copied into the data directory, owned by the server's
    /// user, the key readable by it alone) and reloads the server.
    pub fn enable_tls(&self, cert: &std::path::Path, key: &std::path::Path) {
        let data = std::path::PathBuf::from(self.data_dir());
        for (source, name, mode) in [(cert, "server.crt", 0o644), (key, "server.key", 0o600)] {
            let target = data.join(name);
            std::fs::copy(source, &target).expect("copy a TLS file");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                .expect("chmod");
            if self.as_postgres {
                let ok = Command::new("chown")
                    .args(["postgres", &target.display().to_string()])
                    .status()
                    .expect("chown");
                assert!(ok.success(), "chown postgres");
            }
        }
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
        text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).expect("postgresql.conf");
        self.run("pg_ctl", &["-D", &self.data_dir(), "reload"]);
    }

    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        );
    }

    pub fn stop_server(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "fast", "-w", "stop"],
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

/// Runs `vivr` with `args` writing its standard output into a pipe nobody reads (`vivr … | head` once `head` has
/// exited): (exit status, stderr).
pub fn vivr_into_closed_pipe(args: &[&str]) -> (ExitStatus, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = vivr_command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run vivr");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
