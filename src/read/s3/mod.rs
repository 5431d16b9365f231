//! `s3://bucket/prefix` (or `s3a://`) as a scan path: the CloudTrail logs under a prefix, listed
//! with the pruning of [`super::trail_layout`] (a day of one account lists only that day's
//! folder) and read as they arrive, without being written to disk.
//!
//! The AWS SDK is behind the `aws` cargo feature; without it, an S3 path is an error that says
//! how to get the feature.

#[cfg(feature = "aws")]
pub mod sdk;

use super::remote::Fetch;
use super::trail_layout::TrailFilter;
use std::sync::Arc;

/// A bucket and a key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl S3Url {
    /// `None` when `s` is no S3 URL at all (a local path); an error when it is a broken one.
    pub fn parse(s: &str) -> Option<Result<S3Url, String>> {
        let rest = ["s3://", "s3a://", "S3://", "S3A://"]
            .iter()
            .find_map(|scheme| s.strip_prefix(scheme))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // Bucket naming rules: 3 to 63 of lower-case letters, digits, dots and hyphens.
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Some(Err(format!(
                "`{}` is not an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens): expected s3://BUCKET/PREFIX",
                bucket.escape_debug()
            )));
        }
        Some(Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        }))
    }

    /// The one object the URL names, where its last part is named like a log
    /// (`.../123_CloudTrail_us-east-1_20240501T1005Z_abc.json.gz`): read without listing.
    pub fn object(&self) -> Option<&str> {
        let name = self.prefix.rsplit('/').next().unwrap_or_default();
        (!name.is_empty() && super::trail_layout::skip_by_name(name).is_none())
            .then_some(self.prefix.as_str())
    }

    /// How an object under this bucket is named in reports.
    pub fn shown(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, key)
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// How to reach S3: the same credential chain and flags as `atrest collect`.
#[derive(Debug, Clone)]
pub struct Access {
    pub profile: Option<String>,
    /// The bucket's region (default: the profile's or the environment's, else us-east-1).
    pub region: Option<String>,
    /// An S3-compatible endpoint (moto, MinIO) instead of AWS; path-style addressing is used.
    pub endpoint_url: Option<String>,
    /// Keys per list call (S3 returns at most 1000).
    pub page_size: i32,
    /// Objects fetched ahead of the readers, at most, besides those being read.
    pub prefetch: usize,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            profile: None,
            region: None,
            endpoint_url: None,
            page_size: 1000,
            prefetch: 32,
        }
    }
}

/// What is under the prefixes of a scan.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects to read, as shown (`s3://bucket/key`), with their index in `fetch`; sorted.
    pub logs: Vec<(String, usize)>,
    pub fetch: Option<Arc<dyn Fetch>>,
    /// Objects and folders not read, and why (by name: a digest, not a log).
    pub skipped: Vec<(String, &'static str)>,
    /// (URL, message): a prefix that could not be listed.
    pub errors: Vec<(String, String)>,
    /// List calls made.
    pub calls: usize,
    /// URLs listed without error under which no object to read was found (before `keep`, the
    /// shard's share, was applied).
    pub empty: Vec<String>,
}

/// Which of the objects listed are read (all, or a shard's), by their shown name.
pub type Keep<'a> = &'a dyn Fn(&str) -> bool;

/// Lists the logs under `urls`. `Err` stops the scan (no credentials, no region, no feature);
/// a prefix that cannot be listed is in [`Listing::errors`].
pub fn list(
    urls: &[S3Url],
    access: &Access,
    filter: &TrailFilter,
    keep: Keep<'_>,
) -> Result<Listing, String> {
    #[cfg(feature = "aws")]
    {
        sdk::list(urls, access, filter, keep)
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = (access, filter, keep);
        Err(format!(
            "{}: reading S3 needs the `aws` feature, and this atrest was built without it: build it with `cargo install --path . --features aws`, or copy the logs to disk first (`aws s3 sync`)",
            urls.first().map(|u| u.to_string()).unwrap_or_default()
        ))
    }
}

/// The components of a key's folder (`a/b/c.json` -> `a`, `b`) or of a prefix (`a/b/`).
pub fn folder_of(key: &str) -> Vec<&str> {
    let folder = key.rsplit_once('/').map_or("", |(f, _)| f);
    folder.split('/').filter(|c| !c.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_a_prefix() {
        assert_eq!(S3Url::parse("./logs"), None);
        assert_eq!(S3Url::parse("logs/s3://x"), None);
        let u = S3Url::parse("s3://my-trail.logs/AWSLogs/111122223333/")
            .unwrap()
            .unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.prefix.as_str()),
            ("my-trail.logs", "AWSLogs/111122223333/")
        );
        assert_eq!(u.shown("k.json.gz"), "s3://my-trail.logs/k.json.gz");
        assert_eq!(u.object(), None);
        let one = S3Url::parse("s3://b0b/AWSLogs/1_CloudTrail_x.json.gz")
            .unwrap()
            .unwrap();
        assert_eq!(one.object(), Some("AWSLogs/1_CloudTrail_x.json.gz"));
        let a = S3Url::parse("s3a://bucket").unwrap().unwrap();
        assert_eq!((a.bucket.as_str(), a.prefix.as_str()), ("bucket", ""));
        for bad in ["s3://", "s3://ab", "s3://Upper/x", "s3://a_b/x"] {
            let e = S3Url::parse(bad).unwrap().unwrap_err();
            assert!(e.contains("not an S3 bucket name"), "{e}");
        }
    }

    #[test]
    fn folders_of_keys_and_prefixes() {
        assert_eq!(folder_of("a/b/c.json"), ["a", "b"]);
        assert_eq!(folder_of("a/b/"), ["a", "b"]);
        assert!(folder_of("c.json").is_empty());
    }

    #[cfg(not(feature = "aws"))]
    #[test]
    fn without_the_feature_an_s3_path_says_how_to_get_it() {
        let u = S3Url::parse("s3://bucket/AWSLogs/").unwrap().unwrap();
        let e = list(&[u], &Access::default(), &TrailFilter::default(), &|_| true).unwrap_err();
        assert!(
            e.starts_with("s3://bucket/AWSLogs/: reading S3 needs the `aws` feature"),
            "{e}"
        );
    }
}
