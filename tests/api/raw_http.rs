//! HTTP/1.1 by hand, over a raw TCP connection, for what a well-behaved client (reqwest)
//! never does: a body that stops, trickles, or never ends. Blocking I/O: run it with
//! `actix_web::rt::task::spawn_blocking`.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long any read waits before the test gives up on the server.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One response: the status, the head (lowercased), the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_owned()))
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// Reads one HTTP/1.1 response (Content-Length or chunked body) as (status, JSON body).
pub fn read_response(stream: &mut TcpStream) -> (u16, Value) {
    let answer = read_answer(stream);
    (answer.status, answer.body)
}

/// Reads one HTTP/1.1 response (Content-Length or chunked body).
pub fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut buf = Vec::new();
    let mut piece = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream
            .read(&mut piece)
            .expect("an answer before the body ends");
        assert!(n > 0, "closed without an answer");
        buf.extend_from_slice(&piece[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let complete = |body: &[u8]| -> Option<Vec<u8>> {
        if let Some(n) = header("content-length:") {
            let n: usize = n.parse().unwrap();
            return (body.len() >= n).then(|| body[..n].to_vec());
        }
        assert_eq!(header("transfer-encoding:").as_deref(), Some("chunked"));
        let (mut out, mut rest) = (Vec::new(), body);
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
            let data = rest.get(line_end + 2..line_end + 2 + size + 2)?;
            if size == 0 {
                return Some(out);
            }
            out.extend_from_slice(&data[..size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
    };
    loop {
        if let Some(body) = complete(&buf[head_end..]) {
            return Answer {
                status,
                head,
                body: serde_json::from_slice(&body).unwrap(),
            };
        }
        let n = stream.read(&mut piece).expect("the rest of the answer");
        assert!(n > 0, "closed in the middle of the answer");
        buf.extend_from_slice(&piece[..n]);
    }
}

/// A request whose body never ends: `head_lines` (e.g. `Authorization: …`), a body declared
/// `declared` bytes long (or chunked, when `None`) of which only `first` is sent, then one
/// more byte every `trickle` (if any), never the whole.
pub struct SlowBody {
    pub method: &'static str,
    pub path: String,
    pub head_lines: Vec<String>,
    pub declared: Option<usize>,
    pub first: Vec<u8>,
    pub trickle: Option<Duration>,
}

/// What became of a [`SlowBody`]: the answer, when it came and when the server closed the
/// connection (both from when the head was sent). The body was still unfinished when the
/// answer came: it never is finished.
#[derive(Debug)]
pub struct SlowOutcome {
    pub answer: Answer,
    pub answered_after: Duration,
    /// `None`: still open after [`READ_TIMEOUT`].
    pub closed_after: Option<Duration>,
}

impl SlowBody {
    pub fn send(self, address: &str) -> SlowOutcome {
        let host = address.trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(&host).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {host}\r\n", self.method, self.path);
        for line in &self.head_lines {
            head.push_str(line);
            head.push_str("\r\n");
        }
        match self.declared {
            Some(n) => head.push_str(&format!("Content-Length: {n}\r\n\r\n")),
            None => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
        }
        let chunked = self.declared.is_none();
        let framed = move |data: &[u8]| -> Vec<u8> {
            if chunked {
                let mut out = format!("{:x}\r\n", data.len()).into_bytes();
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
                out
            } else {
                data.to_vec()
            }
        };
        let started = Instant::now();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&framed(&self.first)).unwrap();
        // The body is never finished: at most one byte short of what was declared.
        let budget = self
            .declared
            .map_or(usize::MAX, |n| n.saturating_sub(self.first.len() + 1));
        let answered = Arc::new(AtomicBool::new(false));
        let writing = self.trickle.map(|every| {
            let mut writer = stream.try_clone().unwrap();
            let answered = answered.clone();
            std::thread::spawn(move || {
                for _ in 0..budget {
                    if answered.load(Ordering::SeqCst) {
                        return;
                    }
                    // Pacing, not synchronisation: this is the slow client.
                    std::thread::sleep(every);
                    if writer.write_all(&framed(b" ")).is_err() {
                        return;
                    }
                }
            })
        });
        let answer = read_answer(&mut stream);
        let answered_after = started.elapsed();
        answered.store(true, Ordering::SeqCst);
        let closed_after = wait_for_close(&mut stream).then(|| started.elapsed());
        let _ = stream.shutdown(Shutdown::Both);
        if let Some(w) = writing {
            w.join().unwrap();
        }
        SlowOutcome {
            answer,
            answered_after,
            closed_after,
        }
    }
}

/// Reads (and drops) whatever else comes until the server closes the connection: true, or
/// false if it is still open after [`READ_TIMEOUT`].
fn wait_for_close(stream: &mut TcpStream) -> bool {
    let mut piece = [0u8; 1024];
    loop {
        match stream.read(&mut piece) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            // Reset by the server: closed as well.
            Err(_) => return true,
        }
    }
}

/// A complete request with a chunked body, answered in full.
pub fn chunked_request(
    address: &str,
    method: &str,
    path: &str,
    head_lines: &[String],
    body: &[u8],
) -> Answer {
    let host = address.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&host).unwrap();
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for line in head_lines {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("Transfer-Encoding: chunked\r\n\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(b"\r\n0\r\n\r\n");
    stream.write_all(&bytes).unwrap();
    read_answer(&mut stream)
}
