//! An S3 download cut partway is resumed, without an event read twice or lost, and is an error
//! of its object only once the resumptions run out. The "S3" is a small HTTP server on loopback
//! that serves one object and drops each connection after a fixed number of body bytes, as a
//! flaky network or a proxy does; it needs no moto, only the `aws` feature.

use crate::aws_moto::atrest;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How the server answers a GET.
#[derive(Clone, Copy)]
enum Serve {
    /// A `Range: bytes=N-` request gets a 206 from N; every response is cut after `cut` bytes.
    Ranges { cut: usize },
    /// Ranges ignored: always a 200 with the whole object, cut `cut` bytes after where the
    /// request's range began (each attempt gets further, but starts at byte 0).
    WholeEachTime { cut: usize },
}

struct Server {
    url: String,
    /// The `Range` header of every GET, in order ("" for none).
    ranges: Arc<Mutex<Vec<String>>>,
}

fn serve(object: Vec<u8>, how: Serve) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let seen = ranges.clone();
    let object = Arc::new(object);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (object, seen) = (object.clone(), seen.clone());
            std::thread::spawn(move || answer(stream, &object, how, &seen));
        }
    });
    Server { url, ranges }
}

fn answer(mut stream: TcpStream, object: &[u8], how: Serve, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    let mut range = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if request.is_empty() {
            request = line.clone();
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range:") {
            range = v.trim().to_owned();
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    if !request.starts_with("GET ") {
        let _ = stream.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    seen.lock().unwrap().push(range.clone());
    let start: usize = range
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let len = object.len();
    let (head, sent) = match how {
        Serve::Ranges { cut } if start > 0 => (
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}\r\nContent-Length: {}\r\n",
                len - 1,
                len - start
            ),
            &object[start..(start + cut).min(len)],
        ),
        Serve::Ranges { cut } => (
            format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n"),
            &object[..cut.min(len)],
        ),
        Serve::WholeEachTime { cut } => (
            format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n"),
            &object[..(start + cut).min(len)],
        ),
    };
    let head = format!(
        "{head}ETag: \"0123456789abcdef\"\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(sent);
    let _ = stream.flush();
    // Dropped here: the connection ends, short of the length the headers announced.
}

/// A CloudTrail log of `n` KMS events, each padded to about 400 bytes.
fn log(n: usize) -> Vec<u8> {
    let events: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"eventVersion":"1.08","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventTime":"2024-05-01T10:00:00Z","awsRegion":"us-east-1","recipientAccountId":"123456789012","eventID":"id-{i}","requestParameters":{{"pad":"{}"}}}}"#,
                "x".repeat(200)
            )
        })
        .collect();
    format!("{{\"Records\":[{}]}}", events.join(",")).into_bytes()
}

const KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01/123456789012_CloudTrail_us-east-1_20240501T1005Z_abc.json";

/// `atrest facts s3://bucket/KEY` against the server: exit code and standard error.
fn facts(server: &Server) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = atrest(dir.path())
        .args(["facts", &format!("s3://bucket/{KEY}")])
        .args(["--endpoint-url", &server.url, "--region", "us-east-1"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_cut_download_resumes_from_the_byte_reached_and_reads_every_event_once() {
    let object = log(1_000);
    assert!(object.len() > 300_000);
    let server = serve(object.clone(), Serve::Ranges { cut: 100_000 });
    let (code, stderr) = facts(&server);
    // Any byte read twice or skipped breaks the JSON: an error, and fewer events.
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("1000 events in 1 log file"), "{stderr}");
    let ranges = server.ranges.lock().unwrap().clone();
    let expected: Vec<String> = (0..object.len().div_ceil(100_000))
        .map(|i| match i {
            0 => String::new(),
            i => format!("bytes={}-", i * 100_000),
        })
        .collect();
    assert_eq!(ranges, expected);
}

#[test]
fn a_server_that_ignores_the_range_gets_its_repeated_bytes_dropped() {
    let object = log(600);
    let server = serve(object.clone(), Serve::WholeEachTime { cut: 90_000 });
    let (code, stderr) = facts(&server);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("600 events in 1 log file"), "{stderr}");
    assert!(server.ranges.lock().unwrap().len() > 1);
}

#[test]
fn a_download_cut_more_often_than_the_retries_allow_is_an_error_of_its_object() {
    // 1,000 events need 11 responses of 40,000 bytes: more than one attempt and five resumes.
    let server = serve(log(1_000), Serve::Ranges { cut: 40_000 });
    let (code, stderr) = facts(&server);
    assert_eq!(code, 2, "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error: {stderr}"));
    assert!(line.contains(&format!("s3://bucket/{KEY}")), "{line}");
    assert!(
        line.contains("the download failed 6 times, the last at byte 240000"),
        "{line}"
    );
    assert_eq!(server.ranges.lock().unwrap().len(), 6);
}
