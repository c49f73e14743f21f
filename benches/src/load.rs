//! A closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending the same request
//! again as soon as the previous answer is read in full. Latency is measured per request (send to
//! last body byte) into an HDR histogram. Requests that start during the warm-up are not counted.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One request, sent again and again.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// A path; `GET` when it starts with `GET ` (no body), else `POST` with the form.
    pub path: String,
    pub bearer: String,
    pub form: String,
}

pub struct Outcome {
    pub hist: Histogram<u64>,
    /// 2xx answers completed in the measured window.
    pub ok: u64,
    /// Non-2xx answers in the window.
    pub non_2xx: u64,
    /// Connection or protocol errors in the window.
    pub errors: u64,
    pub window: Duration,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }
}

fn histogram() -> Histogram<u64> {
    // microseconds, 1 µs .. 60 s, 3 significant digits
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Runs `connections` workers for `warmup + duration` and returns what happened in `duration`.
pub async fn run(
    target: &Target,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Outcome {
    let begin = Instant::now();
    let measure_from = begin + warmup;
    let end = measure_from + duration;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let t = target.clone();
        set.spawn(worker(t, measure_from, end));
    }
    let mut total = Outcome {
        hist: histogram(),
        ok: 0,
        non_2xx: 0,
        errors: 0,
        window: duration,
    };
    while let Some(res) = set.join_next().await {
        match res {
            Ok(w) => {
                let _ = total.hist.add(&w.hist);
                total.ok += w.ok;
                total.non_2xx += w.non_2xx;
                total.errors += w.errors;
            }
            Err(_) => total.errors += 1,
        }
    }
    total
}

async fn worker(t: Target, measure_from: Instant, end: Instant) -> Outcome {
    let mut out = Outcome {
        hist: histogram(),
        ok: 0,
        non_2xx: 0,
        errors: 0,
        window: end - measure_from,
    };
    let host = t.addr.to_string();
    let auth = format!("Bearer {}", t.bearer);
    let body = Bytes::from(t.form.clone());
    // Connection errors are counted and the connection is opened again; bounded by `end`.
    'connect: while Instant::now() < end {
        let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(t.addr)).await
        else {
            if Instant::now() >= measure_from {
                out.errors += 1;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            out.errors += 1;
            continue;
        };
        let conn = tokio::spawn(conn);
        loop {
            let now = Instant::now();
            if now >= end {
                break 'connect;
            }
            let req = match t.path.strip_prefix("GET ") {
                Some(path) => Request::get(path)
                    .header(HOST, host.as_str())
                    .header(AUTHORIZATION, auth.as_str())
                    .body(Full::new(Bytes::new())),
                None => Request::post(t.path.as_str())
                    .header(HOST, host.as_str())
                    .header(AUTHORIZATION, auth.as_str())
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Full::new(body.clone())),
            }
            .expect("valid request");
            let started = Instant::now();
            let counted = started >= measure_from;
            let result = async {
                sender.ready().await?;
                let res = sender.send_request(req).await?;
                let status = res.status();
                res.into_body().collect().await?;
                Ok::<_, hyper::Error>(status)
            };
            match tokio::time::timeout(Duration::from_secs(10), result).await {
                Ok(Ok(status)) => {
                    let done = Instant::now();
                    if counted && done <= end {
                        if status.is_success() {
                            out.ok += 1;
                            out.hist
                                .saturating_record(done.duration_since(started).as_micros() as u64);
                        } else {
                            out.non_2xx += 1;
                        }
                    }
                }
                _ => {
                    if counted {
                        out.errors += 1;
                    }
                    conn.abort();
                    continue 'connect;
                }
            }
        }
    }
    out
}
