//! A mail server for tests: SMTP on `127.0.0.1:0` that keeps what it receives.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One mail the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent, headers and encoded body.
    pub data: String,
}

impl ReceivedMail {
    /// The decoded `Subject` header.
    pub fn subject(&self) -> String {
        let raw = header(&self.data, "subject").unwrap_or_default();
        decode_words(&raw)
    }

    /// The decoded text of the part whose content type starts with `content_type`
    /// (`text/plain`, `text/html`), or of the whole body for a single-part message.
    pub fn part(&self, content_type: &str) -> Option<String> {
        let (head, body) = split_head(&self.data);
        let ct = header(head, "content-type").unwrap_or_default();
        if let Some(boundary) = boundary_of(&ct) {
            let marker = format!("--{boundary}");
            for section in body.split(&marker).skip(1) {
                let section = section.trim_start_matches(['\r', '\n']);
                if section.starts_with("--") {
                    break;
                }
                let (part_head, part_body) = split_head(section);
                // The line break before the next boundary belongs to the boundary.
                let part_body = part_body
                    .strip_suffix("\r\n")
                    .or_else(|| part_body.strip_suffix('\n'))
                    .unwrap_or(part_body);
                let part_ct = header(part_head, "content-type").unwrap_or_default();
                if part_ct.to_ascii_lowercase().starts_with(content_type) {
                    let encoding = header(part_head, "content-transfer-encoding");
                    return Some(decode_body(part_body, encoding.as_deref()));
                }
            }
            return None;
        }
        ct.to_ascii_lowercase()
            .starts_with(content_type)
            .then(|| decode_body(body, header(head, "content-transfer-encoding").as_deref()))
    }

    /// The text part, decoded.
    pub fn text(&self) -> String {
        self.part("text/plain").unwrap_or_default()
    }

    /// The HTML part, decoded.
    pub fn html(&self) -> String {
        self.part("text/html").unwrap_or_default()
    }

    /// The first `http://` or `https://` URL in the text part.
    pub fn link(&self) -> Option<String> {
        let text = self.text();
        let start = text.find("http://").or_else(|| text.find("https://"))?;
        let rest = &text[start..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
            .unwrap_or(rest.len());
        Some(rest[..end].to_owned())
    }

    /// The first run of exactly six digits in the text part (a one-time code).
    pub fn code(&self) -> Option<String> {
        let text = self.text();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if i - start == 6 {
                    return Some(text[start..i].to_owned());
                }
            } else {
                i += 1;
            }
        }
        None
    }
}

fn split_head(message: &str) -> (&str, &str) {
    message
        .split_once("\r\n\r\n")
        .or_else(|| message.split_once("\n\n"))
        .unwrap_or((message, ""))
}

/// A header's value, folded lines joined.
fn header(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in head.lines() {
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push_str(line.trim_start());
                continue;
            }
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_owned());
        }
    }
    value
}

fn boundary_of(content_type: &str) -> Option<String> {
    let at = content_type.to_ascii_lowercase().find("boundary=")?;
    let value = &content_type[at + "boundary=".len()..];
    let value = value.split(';').next().unwrap_or(value).trim();
    Some(value.trim_matches('"').to_owned())
}

fn decode_body(body: &str, encoding: Option<&str>) -> String {
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        Some("base64") => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Some("quoted-printable") => quoted_printable(body),
        _ => body.to_owned(),
    }
}

fn quoted_printable(body: &str) -> String {
    let mut out = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let Some(hex) = body.get(i + 1..i + 3)
                && let Ok(b) = u8::from_str_radix(hex, 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`), decoded.
fn decode_words(raw: &str) -> String {
    let mut out = String::new();
    let mut previous_encoded = false;
    for word in raw.split_whitespace() {
        let decoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let (_charset, enc, text) = (parts.next()?, parts.next()?, parts.next()?);
                match enc.to_ascii_lowercase().as_str() {
                    "b" => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()
                        .map(|b| String::from_utf8_lossy(&b).into_owned()),
                    "q" => Some(quoted_printable(&text.replace('_', " "))),
                    _ => None,
                }
            });
        // Space between two encoded words is folding, not text; any other space is kept.
        let folding = decoded.is_some() && previous_encoded;
        if !out.is_empty() && !folding {
            out.push(' ');
        }
        previous_encoded = decoded.is_some();
        out.push_str(decoded.as_deref().unwrap_or(word));
    }
    out
}

/// An SMTP server on `127.0.0.1:0` that accepts every mail and keeps it, for tests of code
/// that sends mail. It speaks plain SMTP (no TLS, no AUTH): point the code under test at it
/// with TLS off.
///
/// ```no_run
/// # async fn t() {
/// let sink = routekit_test::SmtpSink::start().await;
/// let (host, port) = ("127.0.0.1", sink.port());
/// // … send a mail to ann@example.com through host:port …
/// let mail = sink.last_to("ann@example.com").expect("a mail");
/// assert!(mail.link().is_some());
/// # }
/// ```
#[derive(Debug)]
pub struct SmtpSink {
    port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    delay: Arc<Mutex<Duration>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Starts a sink that answers at once.
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let delay = Arc::new(Mutex::new(Duration::ZERO));
        let task = tokio::spawn({
            let mails = mails.clone();
            let delay = delay.clone();
            async move {
                while let Ok((socket, _)) = listener.accept().await {
                    tokio::spawn(session(socket, mails.clone(), delay.clone()));
                }
            }
        });
        SmtpSink {
            port,
            mails,
            delay,
            task,
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// From now on, every mail is acknowledged only after `delay` (a slow server).
    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    /// Every mail accepted so far, oldest first.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.mails.lock().unwrap().clone()
    }

    /// The mails sent to `address`, oldest first.
    pub fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// The latest mail sent to `address`.
    pub fn last_to(&self, address: &str) -> Option<ReceivedMail> {
        self.mails_to(address).pop()
    }
}

/// A port on which nothing listens (bound, then let go), for tests of a mail server that is
/// down.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}

fn address(arg: &str) -> String {
    let arg = arg.trim();
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg.rfind('>').unwrap_or(arg.len());
    arg[start..end.max(start)].to_owned()
}

async fn session(
    socket: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    delay: Arc<Mutex<Duration>>,
) {
    // Replies go out at once, as a real server's do (Nagle's algorithm and delayed ACKs
    // would otherwise add 40 ms to a reply that follows another).
    let _ = socket.set_nodelay(true);
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    if write
        .write_all(b"220 routekit-test ESMTP\r\n")
        .await
        .is_err()
    {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-routekit-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "MAIL" => {
                from = address(command.split_once(':').map_or("", |(_, a)| a));
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(command.split_once(':').map_or("", |(_, a)| a)));
                b"250 OK\r\n"
            }
            "DATA" => {
                if write.write_all(b"354 go ahead\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // Dot-stuffing: a leading dot was doubled by the client.
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let wait = *delay.lock().unwrap();
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                mails.lock().unwrap().push(ReceivedMail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
