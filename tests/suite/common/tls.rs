//! TLS servers for tests of vivr's outbound connections: a test CA (openssl) and loopback servers whose
//! certificates it signs — an HTTPS endpoint, an SMTP server (implicit TLS or STARTTLS).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;

/// A test CA and a certificate it signs for `vivr-aws.test`, `vivr-db.test` and `localhost` (openssl), in `dir`:
/// (ca.pem, server.pem, server.key).
pub fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=vivr test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=vivr-aws.test",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:vivr-aws.test,DNS:vivr-db.test,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// An HTTPS server on a free loopback port that answers every request with an AWS JSON error naming itself.
pub struct TlsEndpoint {
    child: std::process::Child,
    pub port: u16,
}

impl TlsEndpoint {
    pub fn start(cert: &Path, key: &Path) -> TlsEndpoint {
        let port = common::process::free_port();
        let script = format!(
            r#"
import http.server, ssl
class Answer(http.server.BaseHTTPRequestHandler):
    def answer(self):
        body = b'{{"__type":"ReachedOverTls","message":"the test endpoint answered"}}'
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-ErrorType", "ReachedOverTls")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_HEAD = do_PUT = do_POST = answer
    def log_message(self, *args): pass
server = http.server.HTTPServer(("127.0.0.1", {port}), Answer)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("{cert}", "{key}")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#,
            cert = cert.display(),
            key = key.display()
        );
        let child = python(&script, port, "the HTTPS endpoint");
        TlsEndpoint { child, port }
    }
}

impl Drop for TlsEndpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How an [`SmtpServer`] speaks TLS.
#[derive(Clone, Copy, Debug)]
pub enum SmtpTls {
    /// TLS from the first byte (`smtps://`, port 465).
    Implicit,
    /// Plain text until `STARTTLS` (`smtp://`, port 587).
    StartTls,
}

/// A minimal SMTP server on a free loopback port presenting `cert`; every message's DATA is appended to
/// `received`. Stopped when dropped.
pub struct SmtpServer {
    child: std::process::Child,
    pub port: u16,
    pub received: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start(cert: &Path, key: &Path, tls: SmtpTls) -> SmtpServer {
        let port = common::process::free_port();
        let dir = tempfile::tempdir().unwrap();
        let received = dir.path().join("received.eml");
        let script = format!(
            r#"
import socket, ssl, threading
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("{cert}", "{key}")
implicit = {implicit}
def serve(conn):
    try:
        if implicit:
            conn = context.wrap_socket(conn, server_side=True)
        secure = implicit
        stream = conn.makefile("rwb")
        def say(*lines):
            for line in lines:
                stream.write(line.encode() + b"\r\n")
            stream.flush()
        say("220 vivr-test ESMTP")
        while True:
            line = stream.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250-vivr-test", *([] if secure else ["250-STARTTLS"]), "250 8BITMIME")
            elif verb == "STARTTLS" and not secure:
                say("220 ready")
                stream.close()
                conn = context.wrap_socket(conn, server_side=True)
                stream = conn.makefile("rwb")
                secure = True
            elif verb == "DATA":
                say("354 go ahead")
                data = b""
                while True:
                    part = stream.readline()
                    if part in (b".\r\n", b""):
                        break
                    data += part
                with open("{received}", "ab") as out:
                    out.write(data)
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")
    except Exception:
        pass
    finally:
        conn.close()
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", {port}))
server.listen(16)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"#,
            cert = cert.display(),
            key = key.display(),
            received = received.display(),
            implicit = if matches!(tls, SmtpTls::Implicit) {
                "True"
            } else {
                "False"
            },
        );
        let child = python(&script, port, "the SMTP server");
        SmtpServer {
            child,
            port,
            received,
            _dir: dir,
        }
    }

    /// What was received so far.
    pub fn received(&self) -> String {
        std::fs::read_to_string(&self.received).unwrap_or_default()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Python server `script` listening on loopback `port`.
fn python(script: &str, port: u16, what: &str) -> std::process::Child {
    let mut command = Command::new("python3");
    command
        .args(["-c", script])
        .stdout(std::process::Stdio::null());
    common::process::spawn_listening(command, port, what)
}

/// `pem`'s first certificate in DER (openssl), as `ShopConfig::extra_roots` takes it.
pub fn der(pem: &Path) -> rustls::pki_types::CertificateDer<'static> {
    let output = Command::new("openssl")
        .args(["x509", "-outform", "der", "-in"])
        .arg(pem)
        .output()
        .unwrap();
    assert!(output.status.success(), "openssl x509 -outform der");
    rustls::pki_types::CertificateDer::from(output.stdout)
}
