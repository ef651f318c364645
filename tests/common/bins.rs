//! The test tools' binaries (`oftpeer`, `oftgen`) for oftsniff's integration tests.
//!
//! Include it with `#[path = "common/bins.rs"] mod bins;` (or through `common::bins`).
//!
//! The tools live in the workspace member `crates/oft-testkit`, and Cargo defines
//! `env!("CARGO_BIN_EXE_<name>")` only for binaries of the test's own package; nor does
//! `cargo test` build another package's binaries unless that package is selected too (it is
//! with a bare `cargo test` at the root, through `default-members`; it is not with
//! `cargo test --test peer_netns` or `cargo test -p oftsniff`). So the first call in a test
//! process runs `cargo build -p oft-testkit --bins` itself, into the target directory and with
//! the profile of the oftsniff binary under test, and returns the binary beside it:
//!
//! * always building, not only when the file is missing, means a test never runs an oftpeer
//!   older than its sources; when everything is fresh cargo returns in well under a second;
//! * it is safe inside `cargo test`: cargo finishes compiling before it starts any test
//!   binary and holds no lock on the target directory while they run (test binaries run one
//!   at a time; within one, a `OnceLock` builds once);
//! * same directory: `demo.sh` (tests/scripts.rs) wants oftsniff and oftpeer side by side;
//! * same profile: the directory's name says which — `debug` is what `cargo test` uses, the
//!   `test` profile (the dev profile would rebuild oftsniff at another opt-level and make the
//!   next `cargo test` relink the binaries); `release` is `--release`; anything else is a
//!   `--profile NAME` whose output directory is its name.
#![allow(dead_code)] // each test crate uses one of the binaries

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of `oftpeer` (the test peers), built if needed.
pub fn oftpeer() -> &'static str {
    testkit_bin("oftpeer")
}

/// Path of `oftgen` (the capture generator), built if needed.
pub fn oftgen() -> &'static str {
    testkit_bin("oftgen")
}

/// The directory of the oftsniff binary under test: `<target-dir>/<profile-dir>`.
pub fn bin_dir() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_oftsniff")).parent().unwrap()
}

fn testkit_bin(name: &str) -> &'static str {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = BUILT.get_or_init(build_testkit) {
        panic!("{e}");
    }
    let p = bin_dir().join(name);
    assert!(
        p.is_file(),
        "cargo built oft-testkit but {} is missing",
        p.display()
    );
    let s: String = p.to_str().expect("UTF-8 target path").to_owned();
    Box::leak(s.into_boxed_str())
}

fn build_testkit() -> Result<(), String> {
    let dir = bin_dir();
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "test",
        Some(other) => other,
        None => return Err(format!("odd binary directory {}", dir.display())),
    };
    let target_dir: PathBuf = dir.parent().unwrap().to_path_buf();
    // `CARGO` is the cargo running this test (the right toolchain); plain `cargo` when the
    // test binary was started by hand.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--quiet", "-p", "oft-testkit", "--bins"])
        .args(["--profile", profile])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .output()
        .map_err(|e| format!("cannot run cargo to build oftpeer/oftgen: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo build -p oft-testkit --bins --profile {profile} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
