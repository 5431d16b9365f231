//! S3 through the AWS SDK for Rust: the client (shared with `atrest collect`: rustls on ring,
//! the default credential chain, `--profile`, `--endpoint-url`, the SDK's retry policy), the
//! pruned listing, and objects fetched ahead of the readers with bounded concurrency.

use super::{Access, Keep, Listing, S3Url, folder_of};
use crate::read::remote::Fetch;
use crate::read::trail_layout::{TrailFilter, Verdict, skip_by_name};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, mpsc};

/// Attempts per call, throttling included; the SDK backs off exponentially between them.
pub const MAX_ATTEMPTS: u32 = 8;

/// The SDK configuration every atrest client starts from: an HTTPS client with rustls on ring,
/// the default credential chain (or `profile`), the standard retry policy, and `endpoint_url`
/// for every service where one is given.
pub async fn sdk_config(
    profile: Option<&str>,
    endpoint_url: Option<&str>,
) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// One line: the AWS error code and message where the service sent them.
pub fn describe<E>(e: &SdkError<E>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    if let Some(code) = e.code() {
        return match e.message() {
            Some(m) => format!("{code}: {m}"),
            None => code.to_owned(),
        };
    }
    match e {
        SdkError::ServiceError(s) => format!(
            "HTTP {} without an AWS error in the response (does the endpoint serve this service?)",
            s.raw().status().as_u16()
        ),
        other => {
            let text = DisplayErrorContext(other).to_string();
            text.lines().next().unwrap_or_default().to_owned()
        }
    }
}

/// Worker threads of the runtime that lists and fetches: the work is waiting on the network.
const IO_THREADS: usize = 2;
/// Body chunks buffered per object fetched ahead, before its download waits for its reader.
const CHUNKS_AHEAD: usize = 8;

pub fn list(
    urls: &[S3Url],
    access: &Access,
    filter: &TrailFilter,
    keep: Keep<'_>,
) -> Result<Listing, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(IO_THREADS)
        .thread_name("atrest-s3")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let config = runtime.block_on(sdk_config(
        access.profile.as_deref(),
        access.endpoint_url.as_deref(),
    ));
    let region = access
        .region
        .clone()
        .or_else(|| config.region().map(|r| r.to_string()))
        .unwrap_or_else(|| "us-east-1".to_owned());
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .region(Region::new(region))
        // An emulator on loopback has no per-bucket host names.
        .force_path_style(access.endpoint_url.is_some())
        .build();
    let client = Client::from_conf(s3);
    let mut listing = Listing::default();
    let mut objects: Vec<(String, String, String)> = Vec::new();
    for url in urls {
        let mut walk = Walk {
            client: &client,
            url,
            filter,
            page_size: access.page_size.clamp(1, 1000),
            objects: Vec::new(),
            skipped: Vec::new(),
            calls: 0,
        };
        let result = match url.object() {
            Some(key) => {
                walk.objects.push(key.to_owned());
                Ok(())
            }
            None => runtime.block_on(walk.run()),
        };
        listing.calls += walk.calls;
        match result {
            Ok(()) => {
                if walk.objects.is_empty() {
                    listing.empty.push(url.to_string());
                }
                objects.extend(
                    walk.objects
                        .into_iter()
                        .map(|key| (url.shown(&key), url.bucket.clone(), key)),
                );
                listing.skipped.extend(walk.skipped);
            }
            Err(message) => listing.errors.push((url.to_string(), message)),
        }
    }
    objects.sort();
    objects.dedup();
    objects.retain(|(shown, _, _)| keep(shown));
    listing.logs = objects
        .iter()
        .enumerate()
        .map(|(i, (shown, _, _))| (shown.clone(), i))
        .collect();
    listing.skipped.sort();
    listing.skipped.dedup();
    let fetch = Prefetch {
        slots: Mutex::new(objects.iter().map(|_| Slot::Idle).collect()),
        objects: objects.into_iter().map(|(_, b, k)| (b, k)).collect(),
        client,
        permits: Arc::new(Semaphore::new(access.prefetch.max(1))),
        lookahead: access.prefetch.max(1),
        handle: runtime.handle().clone(),
        runtime: Some(runtime),
    };
    listing.fetch = Some(Arc::new(fetch));
    Ok(listing)
}

/// The listing of one URL: folders judged by the layout before they are listed.
struct Walk<'a> {
    client: &'a Client,
    url: &'a S3Url,
    filter: &'a TrailFilter,
    page_size: i32,
    objects: Vec<String>,
    skipped: Vec<(String, &'static str)>,
    calls: usize,
}

impl Walk<'_> {
    async fn run(&mut self) -> Result<(), String> {
        // (prefix, list it with a delimiter, one folder at a time)
        let mut todo = vec![(self.url.prefix.clone(), true)];
        while let Some((prefix, by_folder)) = todo.pop() {
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.url.bucket)
                    .prefix(&prefix)
                    .set_delimiter(by_folder.then(|| "/".to_owned()))
                    .max_keys(self.page_size)
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| format!("cannot list: {}", describe(&e)))?;
                self.calls += 1;
                for folder in page.common_prefixes().iter().filter_map(|p| p.prefix()) {
                    match self.filter.directory(&folder_of(folder)) {
                        Verdict::Prune => {}
                        Verdict::Skip(why) => self.skipped.push((self.url.shown(folder), why)),
                        Verdict::Descend => todo.push((folder.to_owned(), true)),
                        Verdict::TakeAll => todo.push((folder.to_owned(), false)),
                    }
                }
                for key in page.contents().iter().filter_map(|o| o.key()) {
                    // A folder marker (`x/`, made by the console) is no object to read.
                    if key.ends_with('/') || !self.filter.keeps_file_in(&folder_of(key)) {
                        continue;
                    }
                    let name = key.rsplit('/').next().unwrap_or(key);
                    match skip_by_name(name) {
                        Some(why) => self.skipped.push((self.url.shown(key), why)),
                        None => self.objects.push(key.to_owned()),
                    }
                }
                token = page
                    .next_continuation_token()
                    .filter(|t| !t.is_empty() && page.is_truncated() == Some(true))
                    .map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Objects fetched ahead of the readers. Opening object `i` starts the download of the next
/// ones after it (each reader thread walks its share of the objects in order), at most
/// `permits` at once, each buffering at most [`CHUNKS_AHEAD`] chunks until its reader comes.
/// An object a reader asks for and whose download has not started is started at once, without
/// a permit: a reader never waits on downloads that wait on other readers.
struct Prefetch {
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    client: Client,
    /// (bucket, key).
    objects: Vec<(String, String)>,
    slots: Mutex<Vec<Slot>>,
    permits: Arc<Semaphore>,
    lookahead: usize,
}

enum Slot {
    Idle,
    Started {
        body: mpsc::Receiver<io::Result<bytes::Bytes>>,
        /// Set once the download holds its permit and has sent its request.
        began: Arc<AtomicBool>,
        task: tokio::task::JoinHandle<()>,
    },
    Taken,
}

impl std::fmt::Debug for Prefetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prefetch({} objects)", self.objects.len())
    }
}

impl Prefetch {
    fn start(&self, index: usize, ahead: bool) -> Slot {
        let (tx, rx) = mpsc::channel(CHUNKS_AHEAD);
        let began = Arc::new(AtomicBool::new(false));
        let (bucket, key) = self.objects[index].clone();
        let client = self.client.clone();
        let permits = ahead.then(|| self.permits.clone());
        let flag = began.clone();
        let task = self.handle.spawn(async move {
            let _permit = match permits {
                Some(p) => match p.acquire_owned().await {
                    Ok(permit) => Some(permit),
                    Err(_) => return,
                },
                None => None,
            };
            flag.store(true, Ordering::SeqCst);
            if let Err(e) = download(&client, &bucket, &key, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Slot::Started {
            body: rx,
            began,
            task,
        }
    }
}

/// Resumptions of a download cut partway, after the first attempt, before it is an error.
pub const MAX_RESUMES: u32 = 5;

/// Streams an object's body into `tx`, chunk by chunk. A request that fails is retried by the
/// SDK's policy; a body cut partway (a dropped connection, a reset) is resumed with a ranged
/// GET from the byte reached, pinned to the first response's ETag (a changed object is an
/// error, never a splice of two versions), after a backoff, up to [`MAX_RESUMES`] times. The
/// bytes already sent are never sent again: a response that ignores the range (a 200 with
/// the whole object) has its first bytes dropped. `Ok` once the whole body is sent, or its
/// reader has gone.
async fn download(
    client: &Client,
    bucket: &str,
    key: &str,
    tx: &mpsc::Sender<io::Result<bytes::Bytes>>,
) -> io::Result<()> {
    let mut reached: u64 = 0;
    let mut etag: Option<String> = None;
    let mut resumes = 0;
    loop {
        let mut request = client.get_object().bucket(bucket).key(key);
        if reached > 0 {
            request = request
                .range(format!("bytes={reached}-"))
                .set_if_match(etag.clone());
        }
        let out = request.send().await.map_err(|e| match e.code() {
            Some("PreconditionFailed") => io::Error::other(format!(
                "the object changed while it was read (its download was cut at byte {reached})"
            )),
            _ => io::Error::other(describe(&e)),
        })?;
        if reached == 0 {
            etag = out.e_tag().map(str::to_owned);
        }
        // Bytes of this response that were already sent: all before `reached` unless the
        // response starts there.
        let resumed_here = out
            .content_range()
            .and_then(|r| r.strip_prefix("bytes "))
            .and_then(|r| r.split('-').next())
            .and_then(|start| start.parse::<u64>().ok())
            == Some(reached);
        let mut skip = if resumed_here { 0 } else { reached };
        let mut body = out.body;
        let cut = loop {
            match body.try_next().await {
                Ok(Some(mut chunk)) => {
                    if skip > 0 {
                        let n = skip.min(chunk.len() as u64);
                        let _ = chunk.split_to(n as usize);
                        skip -= n;
                    }
                    if chunk.is_empty() {
                        continue;
                    }
                    reached += chunk.len() as u64;
                    if tx.send(Ok(chunk)).await.is_err() {
                        return Ok(());
                    }
                }
                Ok(None) if skip == 0 => return Ok(()),
                Ok(None) => break "the response ended before the byte reached".to_owned(),
                Err(e) => break e.to_string(),
            }
        };
        if resumes == MAX_RESUMES {
            return Err(io::Error::other(format!(
                "the download failed {} times, the last at byte {reached}: {cut}",
                resumes + 1
            )));
        }
        resumes += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100 << resumes)).await;
    }
}

impl Fetch for Prefetch {
    fn open(&self, index: usize) -> io::Result<Box<dyn Read + Send>> {
        if index >= self.objects.len() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such object"));
        }
        let mut slots = self
            .slots
            .lock()
            .map_err(|_| io::Error::other("a reader failed while holding the fetcher"))?;
        let end = (index + 1 + self.lookahead).min(self.objects.len());
        for next in index + 1..end {
            if matches!(slots[next], Slot::Idle) {
                slots[next] = self.start(next, true);
            }
        }
        let body = match std::mem::replace(&mut slots[index], Slot::Taken) {
            Slot::Started { body, began, .. } if began.load(Ordering::SeqCst) => body,
            Slot::Started { task, .. } => {
                // Still waiting for a permit: this reader needs it now.
                task.abort();
                take_body(self.start(index, false))
            }
            Slot::Idle | Slot::Taken => take_body(self.start(index, false)),
        };
        Ok(Box::new(Body {
            rx: body,
            chunk: bytes::Bytes::new(),
        }))
    }
}

fn take_body(slot: Slot) -> mpsc::Receiver<io::Result<bytes::Bytes>> {
    match slot {
        Slot::Started { body, .. } => body,
        // `start` always returns a started slot.
        Slot::Idle | Slot::Taken => mpsc::channel(1).1,
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Downloads nobody will read are dropped without waiting for them.
        if let Some(r) = self.runtime.take() {
            r.shutdown_background();
        }
    }
}

/// An object's body as a reader, chunk by chunk as it arrives.
struct Body {
    rx: mpsc::Receiver<io::Result<bytes::Bytes>>,
    chunk: bytes::Bytes,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(e),
                Some(Ok(chunk)) => self.chunk = chunk,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        let _ = self.chunk.split_to(n);
        Ok(n)
    }
}
