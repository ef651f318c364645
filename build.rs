//! Puts the git commit the binary was built from into `--version`
//! (`oftsniff 0.1.0 (git 6a872b4)`). Without git, or outside a repository (a crate
//! tarball), the version is the package version alone.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let full = match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => format!("{version} (git {commit})"),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=OFTSNIFF_VERSION={full}");
    // Rebuild when HEAD moves: HEAD itself (a branch switch) and the branch's ref file.
    for rel in ["HEAD", "index"] {
        if let Some(p) = git(&["rev-parse", "--git-path", rel]) {
            println!("cargo:rerun-if-changed={}", PathBuf::from(p).display());
        }
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--git-path", &r]) {
            println!("cargo:rerun-if-changed={}", PathBuf::from(p).display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
