//! The release's parts agree with each other: the versions pip and pre-commit install are
//! Cargo.toml's, and the release workflow builds a binary under the name the installer (and so
//! the Action) downloads for each platform it knows.

use crate::common;

use atrest::read::{Limits, yaml};
use serde_json::Value;

fn read(rel: &str) -> String {
    std::fs::read_to_string(common::manifest_dir().join(rel)).unwrap()
}

#[test]
fn the_pre_commit_shim_installs_the_wheel_of_this_version() {
    let version = env!("CARGO_PKG_VERSION");
    let shim = read("pyproject.toml");
    assert!(
        shim.contains(&format!("\nversion = \"{version}\"\n")),
        "{shim}"
    );
    assert!(
        shim.contains(&format!("dependencies = [\"atrest-cli=={version}\"]")),
        "{shim}"
    );
    let wheel = read("pypi/pyproject.toml");
    assert!(wheel.contains("name = \"atrest-cli\""));
    assert!(wheel.contains("bindings = \"bin\""));
    assert!(
        wheel.contains("dynamic = [\"version\"]"),
        "the wheel's version is Cargo.toml's"
    );
    assert!(wheel.contains("manifest-path = \"../Cargo.toml\""));
}

#[test]
fn the_release_builds_every_target_the_installer_downloads() {
    let text = read(".github/workflows/release.yml");
    let doc = yaml::parse(&text, &Limits::default())
        .unwrap()
        .root
        .to_json();
    let targets: Vec<String> = doc["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = vec![
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ];
    let mut got: Vec<&str> = targets.iter().map(String::as_str).collect();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected);
    // The installer builds these names from uname: each must be one the workflow uploads.
    let installer = read("scripts/install.sh");
    for (os_part, archive) in [
        ("$arch-unknown-linux-musl; archive=tar.gz", "tar.gz"),
        ("$arch-apple-darwin; archive=tar.gz", "tar.gz"),
        ("x86_64-pc-windows-msvc; archive=zip", "zip"),
    ] {
        assert!(installer.contains(os_part), "{os_part}");
        assert!(text.contains(&format!("asset=atrest-${{{{ matrix.target }}}}.{archive}")));
    }
    assert!(installer.contains("asset=atrest-$target.$archive"));
    assert!(text.contains("\"$asset.sha256\""));
    // The release runs on version tags and publishes with the installer beside the archives.
    let tags = &doc["on"]["push"]["tags"];
    assert_eq!(tags, &Value::from(vec!["v[0-9]+.[0-9]+.[0-9]+*"]));
    assert!(text.contains("cp scripts/install.sh dist/atrest-installer.sh"));
}
