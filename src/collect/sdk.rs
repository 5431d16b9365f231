//! The calls, through the AWS SDK for Rust. Every call is read-only. The files are the response
//! bodies as the service sent them (the CLI prints the same members), pretty-printed: an
//! interceptor keeps each successful body, so nothing is lost or renamed by a serializer of
//! ours. Pages are separate files; what to call next is read from the same bodies.

use super::{CallError, CollectOptions, CollectReport, Service, file_part};
use crate::read::s3::sdk::{describe, sdk_config};
use aws_sdk_lambda::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_lambda::config::{ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A bound on pagination, should a service keep returning a next token.
const MAX_PAGES: usize = 10_000;

pub fn collect(opts: &CollectOptions) -> Result<CollectReport, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(collect_async(opts))
}

async fn collect_async(opts: &CollectOptions) -> Result<CollectReport, String> {
    let base = sdk_config(opts.profile.as_deref(), opts.endpoint_url.as_deref()).await;
    let regions: Vec<String> = if opts.regions.is_empty() {
        match base.region() {
            Some(r) => vec![r.to_string()],
            None => {
                return Err(
                    "no region: pass --region (repeatable), or set AWS_REGION or a region in the profile"
                        .into(),
                );
            }
        }
    } else {
        opts.regions.clone()
    };
    let mut dirs = Vec::new();
    for region in &regions {
        let dir = opts.out_dir.join(file_part(region));
        if dir.read_dir().is_ok_and(|mut d| d.next().is_some()) {
            return Err(format!(
                "{} exists and is not empty: remove it, or collect into another --output-dir",
                dir.display()
            ));
        }
        dirs.push(dir);
    }
    let progress = Progress::new(opts.progress);
    let parts: Vec<CollectReport> = futures_util::stream::iter(regions.iter().zip(&dirs))
        .map(|(region, dir)| collect_region(opts, &base, region, dir, &progress))
        .buffer_unordered(REGIONS_AT_ONCE)
        .collect()
        .await;
    progress.finish();
    let mut report = CollectReport::default();
    for part in parts {
        report.calls += part.calls;
        report.files += part.files;
        report.errors.extend(part.errors);
    }
    report.dirs = dirs;
    report.errors.sort();
    Ok(report)
}

/// Regions collected at once; in each, Lambda (then KMS, which needs the keys the functions
/// use), CloudWatch Logs and X-Ray run at once.
const REGIONS_AT_ONCE: usize = 4;

async fn collect_region(
    opts: &CollectOptions,
    base: &aws_config::SdkConfig,
    region: &str,
    dir: &Path,
    progress: &Progress,
) -> CollectReport {
    let config = base
        .to_builder()
        .region(Region::new(region.to_owned()))
        .build();
    let collector = || Collector {
        dir: dir.to_path_buf(),
        region: region.to_owned(),
        progress,
        report: CollectReport::default(),
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        let mut c = collector();
        c.report.errors.push(CallError {
            region: region.to_owned(),
            call: "write".into(),
            message: format!("cannot create {}: {e}", dir.display()),
        });
        return c.report;
    }
    let wants = |s: Service| opts.services.contains(&s);
    let lambda_and_kms = async {
        let mut c = collector();
        let mut key_refs = Vec::new();
        if wants(Service::Lambda) {
            key_refs = c.lambda(&aws_sdk_lambda::Client::new(&config)).await;
        }
        if wants(Service::Kms) {
            c.kms(&aws_sdk_kms::Client::new(&config), &key_refs).await;
        }
        c.report
    };
    let logs = async {
        let mut c = collector();
        if wants(Service::Logs) {
            c.logs(&aws_sdk_cloudwatchlogs::Client::new(&config)).await;
        }
        c.report
    };
    let xray = async {
        let mut c = collector();
        if wants(Service::Xray) {
            c.xray(&aws_sdk_xray::Client::new(&config)).await;
        }
        c.report
    };
    let (a, b, c) = futures_util::future::join3(lambda_and_kms, logs, xray).await;
    let mut report = a;
    for part in [b, c] {
        report.calls += part.calls;
        report.files += part.files;
        report.errors.extend(part.errors);
    }
    report
}

/// Keeps the body of the last successful response of the call it is attached to.
#[derive(Debug, Clone, Default)]
struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "atrest::collect::Capture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let response = context.response();
        if response.status().is_success()
            && let Some(body) = response.body().bytes()
        {
            *self.0.lock().expect("not poisoned") = Some(body.to_vec());
        }
        Ok(())
    }
}

impl Capture {
    fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().expect("not poisoned").take()
    }
}

struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(show: bool) -> Self {
        let bar = if show && std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {pos} calls {wide_msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar }
    }

    fn call(&self, region: &str, call: &str) {
        self.bar.set_message(format!("{region}: {call}"));
    }

    fn done(&self) {
        self.bar.inc(1);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

struct Collector<'a> {
    dir: PathBuf,
    region: String,
    progress: &'a Progress,
    report: CollectReport,
}

impl Collector<'_> {
    /// One call: its body is written to `file` and returned parsed; a failure is recorded.
    async fn fetch<O, E, Fut>(
        &mut self,
        call: &str,
        file: &str,
        send: impl FnOnce(Capture) -> Fut,
    ) -> Option<Value>
    where
        Fut: Future<Output = Result<O, SdkError<E>>>,
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        self.progress.call(&self.region, call);
        let capture = Capture::default();
        let result = send(capture.clone()).await;
        self.progress.done();
        self.report.calls += 1;
        let outcome = match result {
            Ok(_) => capture
                .take()
                .ok_or_else(|| "the response had no body".to_owned())
                .and_then(|body| {
                    serde_json::from_slice::<Value>(&body)
                        .map_err(|e| format!("the response is not JSON: {e}"))
                })
                .and_then(|doc| write_json(&self.dir.join(file), &doc).map(|()| doc)),
            Err(e) => Err(describe(&e)),
        };
        match outcome {
            Ok(doc) => {
                self.report.files += 1;
                Some(doc)
            }
            Err(message) => {
                self.report.errors.push(CallError {
                    region: self.region.clone(),
                    call: call.to_owned(),
                    message,
                });
                None
            }
        }
    }

    /// Every page of a listing: `next` names the response member with the next token, and
    /// `send` makes the call for a token. Pages are `stem-1.json`, `stem-2.json`, ...
    async fn pages<O, E, Fut>(
        &mut self,
        call: &str,
        stem: &str,
        next: &str,
        mut send: impl FnMut(Capture, Option<String>) -> Fut,
    ) -> Vec<Value>
    where
        Fut: Future<Output = Result<O, SdkError<E>>>,
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for page in 1..=MAX_PAGES {
            let file = format!("{stem}-{page}.json");
            let t = token.clone();
            let Some(doc) = self.fetch(call, &file, |cap| send(cap, t)).await else {
                break;
            };
            token = doc[next]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            out.push(doc);
            if token.is_none() {
                break;
            }
        }
        out
    }

    /// Functions (with get-function: only it shows the package key) and event source mappings.
    /// Returns the keys they use, so keys of other accounts can be described too.
    async fn lambda(&mut self, client: &aws_sdk_lambda::Client) -> Vec<String> {
        let pages = self
            .pages(
                "lambda ListFunctions",
                "lambda-list-functions",
                "NextMarker",
                |cap, marker| {
                    client
                        .list_functions()
                        .set_marker(marker)
                        .max_items(50)
                        .customize()
                        .interceptor(cap)
                        .send()
                },
            )
            .await;
        let functions = items(&pages, "Functions");
        let mut keys = Vec::new();
        for f in &functions {
            let (Some(name), Some(arn)) = (f["FunctionName"].as_str(), f["FunctionArn"].as_str())
            else {
                continue;
            };
            let file = format!("lambda-get-function-{}.json", file_part(name));
            let doc = self
                .fetch(&format!("lambda GetFunction {name}"), &file, |cap| {
                    client
                        .get_function()
                        .function_name(arn)
                        .customize()
                        .interceptor(cap)
                        .send()
                })
                .await;
            let config: &Value = doc.as_ref().map_or(f, |d| &d["Configuration"]);
            for key in [
                &config["KMSKeyArn"],
                &config["DurableConfig"]["KMSKeyArn"],
                doc.as_ref()
                    .map_or(&Value::Null, |d| &d["Code"]["SourceKMSKeyArn"]),
            ] {
                keys.extend(key.as_str().map(str::to_owned));
            }
        }
        let pages = self
            .pages(
                "lambda ListEventSourceMappings",
                "lambda-list-event-source-mappings",
                "NextMarker",
                |cap, marker| {
                    client
                        .list_event_source_mappings()
                        .set_marker(marker)
                        .max_items(100)
                        .customize()
                        .interceptor(cap)
                        .send()
                },
            )
            .await;
        for m in items(&pages, "EventSourceMappings") {
            keys.extend(m["KMSKeyArn"].as_str().map(str::to_owned));
            let Some(uuid) = m["UUID"].as_str() else {
                continue;
            };
            // List output hides filter criteria encrypted with a customer managed key; get
            // shows them (or FilterCriteriaError) to a caller that may decrypt them.
            let file = format!("lambda-get-event-source-mapping-{}.json", file_part(uuid));
            self.fetch(
                &format!("lambda GetEventSourceMapping {uuid}"),
                &file,
                |cap| {
                    client
                        .get_event_source_mapping()
                        .uuid(uuid)
                        .customize()
                        .interceptor(cap)
                        .send()
                },
            )
            .await;
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// Keys and aliases; for each customer managed key, its rotation status and key policy.
    /// Keys the functions use that `ListKeys` does not list (another account's) are described
    /// where the caller may.
    async fn kms(&mut self, client: &aws_sdk_kms::Client, used: &[String]) {
        let pages = self
            .pages(
                "kms ListKeys",
                "kms-list-keys",
                "NextMarker",
                |cap, marker| {
                    client
                        .list_keys()
                        .set_marker(marker)
                        .customize()
                        .interceptor(cap)
                        .send()
                },
            )
            .await;
        let mut keys: Vec<String> = items(&pages, "Keys")
            .iter()
            .filter_map(|k| k["KeyId"].as_str().map(str::to_owned))
            .collect();
        self.pages(
            "kms ListAliases",
            "kms-list-aliases",
            "NextMarker",
            |cap, marker| {
                client
                    .list_aliases()
                    .set_marker(marker)
                    .customize()
                    .interceptor(cap)
                    .send()
            },
        )
        .await;
        for arn in used {
            let id = arn.rsplit_once(":key/").map_or(arn.as_str(), |(_, id)| id);
            if arn.contains(":key/") && !keys.iter().any(|k| k == id) {
                keys.push(arn.clone());
            }
        }
        for key in keys {
            let id = key.rsplit_once(":key/").map_or(key.as_str(), |(_, id)| id);
            let part = file_part(id);
            let Some(doc) = self
                .fetch(
                    &format!("kms DescribeKey {id}"),
                    &format!("kms-describe-key-{part}.json"),
                    |cap| {
                        client
                            .describe_key()
                            .key_id(&key)
                            .customize()
                            .interceptor(cap)
                            .send()
                    },
                )
                .await
            else {
                continue;
            };
            let meta = &doc["KeyMetadata"];
            let customer = meta["KeyManager"] == "CUSTOMER";
            let usable = matches!(meta["KeyState"].as_str(), Some("Enabled" | "Disabled"));
            let rotatable = meta["KeySpec"].as_str().unwrap_or("SYMMETRIC_DEFAULT")
                == "SYMMETRIC_DEFAULT"
                && meta["Origin"].as_str().unwrap_or("AWS_KMS") == "AWS_KMS";
            if !customer {
                continue;
            }
            if usable && rotatable {
                self.fetch(
                    &format!("kms GetKeyRotationStatus {id}"),
                    &format!("kms-get-key-rotation-status-{part}.json"),
                    |cap| {
                        client
                            .get_key_rotation_status()
                            .key_id(&key)
                            .customize()
                            .interceptor(cap)
                            .send()
                    },
                )
                .await;
            }
            self.fetch(
                &format!("kms GetKeyPolicy {id}"),
                &format!("kms-get-key-policy-{part}.json"),
                |cap| {
                    client
                        .get_key_policy()
                        .key_id(&key)
                        .policy_name("default")
                        .customize()
                        .interceptor(cap)
                        .send()
                },
            )
            .await;
        }
    }

    async fn logs(&mut self, client: &aws_sdk_cloudwatchlogs::Client) {
        self.pages(
            "logs DescribeLogGroups",
            "logs-describe-log-groups",
            "nextToken",
            |cap, token| {
                client
                    .describe_log_groups()
                    .set_next_token(token)
                    .limit(50)
                    .customize()
                    .interceptor(cap)
                    .send()
            },
        )
        .await;
    }

    async fn xray(&mut self, client: &aws_sdk_xray::Client) {
        self.fetch(
            "xray GetEncryptionConfig",
            "xray-get-encryption-config.json",
            |cap| {
                client
                    .get_encryption_config()
                    .customize()
                    .interceptor(cap)
                    .send()
            },
        )
        .await;
    }
}

/// The elements of `member` across all pages.
fn items<'a>(pages: &'a [Value], member: &str) -> Vec<&'a Value> {
    pages
        .iter()
        .filter_map(|p| p[member].as_array())
        .flatten()
        .collect()
}

/// Pretty-printed like the AWS CLI (four spaces), members in the order the service sent them.
fn write_json(path: &Path, doc: &Value) -> Result<(), String> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(doc, &mut ser).map_err(|e| e.to_string())?;
    out.push(b'\n');
    std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
