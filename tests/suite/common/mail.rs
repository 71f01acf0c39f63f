//! A minimal SMTP server on loopback that hands every message to the test, and what a test reads in a message:
//! its recipient, subject and decoded text, and the links in it.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

/// Starts the server: its port, and the raw DATA of every message it accepts.
pub async fn smtp_server() -> (u16, UnboundedReceiver<String>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 localhost ESMTP test\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = tx.send(std::mem::take(body));
                            data = None;
                            let _ = write.write_all(b"250 OK queued\r\n").await;
                        } else {
                            // Dot-stuffing (RFC 5321 4.5.2) undone.
                            body.push_str(
                                line.strip_prefix('.')
                                    .filter(|_| line.starts_with(".."))
                                    .unwrap_or(&line),
                            );
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 localhost\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 End data with <CR><LF>.<CR><LF>\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 Bye\r\n").await;
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, rx)
}

/// The next message, within `secs` seconds.
pub async fn next_mail(mails: &mut UnboundedReceiver<String>, secs: u64) -> Mail {
    let raw = tokio::time::timeout(Duration::from_secs(secs), mails.recv())
        .await
        .unwrap_or_else(|_| panic!("no email within {secs} s"))
        .expect("a message");
    Mail::parse(raw)
}

/// Whether another message comes within `secs` seconds.
pub async fn no_more_mail(mails: &mut UnboundedReceiver<String>, secs: u64) -> Option<Mail> {
    tokio::time::timeout(Duration::from_secs(secs), mails.recv())
        .await
        .ok()
        .flatten()
        .map(Mail::parse)
}

/// A message as the test reads it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
    pub to: String,
    pub subject: String,
    /// The body, decoded (quoted-printable or base64).
    pub text: String,
}

impl Mail {
    pub fn parse(raw: String) -> Mail {
        let (head, body) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
        // Folded header lines joined.
        let head = head.replace("\n ", " ").replace("\n\t", " ");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        let encoding = header("Content-Transfer-Encoding").to_ascii_lowercase();
        let text = match encoding.as_str() {
            "quoted-printable" => {
                let bytes = quoted_printable::decode(body, quoted_printable::ParseMode::Robust)
                    .expect("quoted-printable body");
                String::from_utf8(bytes).expect("UTF-8 body")
            }
            "base64" => {
                use base64::Engine;
                let compact: String = body.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .expect("base64 body");
                String::from_utf8(bytes).expect("UTF-8 body")
            }
            _ => body.to_string(),
        };
        Mail {
            to: header("To"),
            subject: decode_words(&header("Subject")),
            text,
            raw: raw.clone(),
        }
    }

    /// The first link in the text that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let at = self
            .text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link starting with {prefix} in:\n{}", self.text));
        self.text[at..]
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The `name` parameter of the first link that starts with `prefix`.
    pub fn link_param(&self, prefix: &str, name: &str) -> String {
        let link = self.link(prefix);
        let query = link.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("query");
        pairs
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {name} in {link}"))
    }
}

/// A header with RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded; the space between two encoded
/// words goes with them.
fn decode_words(value: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(4, '?').collect();
        let (Some(encoding), Some(text), Some(tail)) = (parts.get(1), parts.get(2), parts.get(3))
        else {
            out.push_str(&rest[start..]);
            return out;
        };
        let bytes = if encoding.eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .expect("base64 word")
        } else {
            quoted_printable::decode(text.replace('_', " "), quoted_printable::ParseMode::Robust)
                .expect("quoted-printable word")
        };
        out.push_str(&String::from_utf8(bytes).expect("UTF-8 word"));
        rest = tail.strip_prefix('=').unwrap_or(tail);
        last_was_word = true;
    }
    out.push_str(rest);
    out
}
