//! A small HTTP/1.1 server on 127.0.0.1 for the fetch tests, stopped when
//! dropped whatever the test did.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What [`TestServer`] answers on one path.
#[derive(Clone)]
pub enum Reply {
    /// The whole body, with its length.
    File(Arc<Vec<u8>>),
    /// The headers of the whole body, its first `n` bytes, then the
    /// connection closes: a transfer cut off mid-file.
    CutAfter(Arc<Vec<u8>>, usize),
    /// A redirect (302) to another path of the server, as GitHub's releases redirect.
    Redirect(String),
}

/// A small HTTP/1.1 server on 127.0.0.1 for the fetch tests: it answers each
/// path as its [`Reply`] says (404 otherwise), one connection at a time,
/// counts the requests, and stops when dropped, whatever the test did.
pub struct TestServer {
    address: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Listens on a free port of 127.0.0.1.
    pub fn start(routes: Vec<(&str, Reply)>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let address = listener.local_addr().expect("its address");
        let routes: HashMap<String, Reply> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        let (requests, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (counter, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    answer(stream, &routes, address, &counter);
                }
            }
        });
        TestServer {
            address,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The address of `path` (`/file.pth`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request and answers it; a client that hangs up is no error.
fn answer(
    stream: TcpStream,
    routes: &HashMap<String, Reply>,
    address: SocketAddr,
    requests: &AtomicUsize,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let head = |status: &str, length: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {length}\r\n{extra}Connection: close\r\n\r\n")
    };
    let mut out = &stream;
    let _ = match routes.get(path) {
        Some(Reply::File(body)) => out
            .write_all(head("200 OK", body.len(), "").as_bytes())
            .and_then(|_| out.write_all(body)),
        Some(Reply::CutAfter(body, n)) => out
            .write_all(head("200 OK", body.len(), "").as_bytes())
            .and_then(|_| out.write_all(&body[..*n])),
        Some(Reply::Redirect(to)) => {
            let location = format!("Location: http://{address}{to}\r\n");
            out.write_all(head("302 Found", 0, &location).as_bytes())
        }
        None => out.write_all(head("404 Not Found", 0, "").as_bytes()),
    };
    let _ = out.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
