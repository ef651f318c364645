//! Bad input at the level of the `oftsniff` binary: every mistake a user can make with
//! files, interfaces, output paths and flags ends with exactly one line on stderr and
//! exit code 2 — never a panic, a backtrace or clap's multi-line usage block. A truncated
//! last record is processed up to the damage (a warning, the counters, the `stats` event),
//! and still exits 2, as tcpdump exits non-zero on a truncated file.

#[path = "common/netns.rs"]
mod netns;
use netns::is_root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_oftsniff");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A scratch directory of this test process, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "oftsniff-cli-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn oftsniff<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(BIN)
        .args(args)
        // A panic would print a backtrace with this set; the checks below reject one.
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run oftsniff")
}

/// stderr without the tcpdump-style opening line (`reading from file …`), which a run
/// that got as far as reading prints before any failure in the middle of the input.
fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("reading from file ") && !l.starts_with("listening on "))
        .map(str::to_owned)
        .collect()
}

/// Exit code 2 and one line on stderr, which is returned.
fn one_line_failure(out: &Output, what: &str) -> String {
    let lines = stderr_lines(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: exit code; stderr: {lines:?}"
    );
    assert_eq!(
        lines.len(),
        1,
        "{what}: exactly one line on stderr: {lines:?}"
    );
    let line = &lines[0];
    assert!(line.starts_with("oftsniff: "), "{what}: {line}");
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "Usage:"] {
        assert!(!line.contains(bad), "{what}: {line}");
    }
    line.clone()
}

/// The first `n` 16-byte-header records of a classic pcap, as (start, end) byte offsets.
fn pcap_records(bytes: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut recs = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        recs.push((at, at + 16 + incl));
        at += 16 + incl;
    }
    recs
}

fn stats_frames(stdout: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(stdout);
    let stats = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "stats")
        .expect("a stats record");
    stats["frames_captured"].as_u64().unwrap()
}

#[test]
fn truncated_last_record_warns_exits_2_and_counts_the_frames_before_it() {
    let whole = std::fs::read(data("gaim-sendfile-2005.pcap")).unwrap();
    let recs = pcap_records(&whole);
    let scratch = Scratch::new();
    // Cut inside the last record's data, then inside its header.
    let (last_start, last_end) = *recs.last().unwrap();
    for cut in [last_end - 5, last_start + 7] {
        let path = scratch.file("cut.pcap", &whole[..cut]);
        let out = oftsniff(&[
            "-r".as_ref(),
            path.as_os_str(),
            "--json".as_ref(),
            "-".as_ref(),
            "-q".as_ref(),
        ]);
        let lines = stderr_lines(&out);
        assert_eq!(out.status.code(), Some(2), "cut at {cut}: {lines:?}");
        let warnings: Vec<_> = lines.iter().filter(|l| l.contains("warning")).collect();
        assert_eq!(warnings.len(), 1, "cut at {cut}: {lines:?}");
        assert!(
            warnings[0].starts_with("oftsniff: warning: ") && warnings[0].contains("truncated"),
            "{}",
            warnings[0]
        );
        assert_eq!(
            warnings[0].matches("oftsniff:").count(),
            1,
            "prefix once: {}",
            warnings[0]
        );
        assert!(!lines.iter().any(|l| l.contains("panicked")));
        assert_eq!(
            stats_frames(&out.stdout),
            recs.len() as u64 - 1,
            "cut at {cut}: every whole record is counted"
        );
        assert!(
            lines
                .iter()
                .any(|l| l == &format!("{} frames captured", recs.len() - 1)),
            "counters on stderr: {lines:?}"
        );
    }
}

#[test]
fn corrupt_capture_files_fail_with_one_line() {
    let scratch = Scratch::new();
    let good = std::fs::read(data("gaim-sendfile-2005.pcap")).unwrap();
    let header = &good[..24];

    let magic = scratch.file(
        "magic.pcap",
        b"GET / HTTP/1.1\r\nHost: example\r\n\r\npadding past any header size",
    );
    let line = one_line_failure(&oftsniff(&["-r".as_ref(), magic.as_os_str()]), "bad magic");
    assert!(line.contains("bad magic"), "{line}");

    // A record header claiming 0xffffffff captured bytes after one good record.
    let (_, first_end) = pcap_records(&good)[0];
    let mut huge = good[..first_end].to_vec();
    huge.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.extend_from_slice(&[0u8; 256]);
    let huge = scratch.file("huge.pcap", &huge);
    let line = one_line_failure(&oftsniff(&["-r".as_ref(), huge.as_os_str()]), "4 GB record");
    assert!(
        line.contains("4294967295") || line.contains("claims"),
        "{line}"
    );

    let empty = scratch.file("empty.pcap", b"");
    let line = one_line_failure(&oftsniff(&["-r".as_ref(), empty.as_os_str()]), "empty");
    assert!(line.contains("empty"), "{line}");

    let short = scratch.file("short.pcap", &header[..10]);
    one_line_failure(
        &oftsniff(&["-r".as_ref(), short.as_os_str()]),
        "cut global header",
    );

    let mut usb = header.to_vec();
    usb[20..24].copy_from_slice(&189u32.to_le_bytes()); // LINKTYPE_USB_LINUX
    let usb = scratch.file("usb.pcap", &usb);
    let line = one_line_failure(&oftsniff(&["-r".as_ref(), usb.as_os_str()]), "link type");
    assert!(line.contains("link type"), "{line}");
}

#[test]
fn missing_file_and_directory_fail_with_one_line() {
    let scratch = Scratch::new();
    let missing = scratch.0.join("no-such.pcap");
    let line = one_line_failure(&oftsniff(&["-r".as_ref(), missing.as_os_str()]), "missing");
    assert!(line.contains("no-such.pcap"), "{line}");
    let line = one_line_failure(
        &oftsniff(&["-r".as_ref(), scratch.0.as_os_str()]),
        "directory",
    );
    // A directory is read as a set of rotated captures: an empty one has nothing to read.
    assert!(line.contains("no capture files"), "{line}");
}

#[test]
fn unknown_interface_fails_with_one_line() {
    let line = one_line_failure(&oftsniff(&["-i", "nosuchif0"]), "unknown interface");
    if is_root() {
        assert!(line.contains("no such interface 'nosuchif0'"), "{line}");
    } else {
        // Without the capability the socket cannot even be opened; that is the message.
        assert!(line.contains("nosuchif0"), "{line}");
    }
    one_line_failure(
        &oftsniff(&["-i", "nosuchif0", "--backend", "pnet"]),
        "unknown interface (pnet)",
    );
}

#[test]
fn unwritable_output_paths_fail_before_reading() {
    let scratch = Scratch::new();
    let input = data("gaim-sendfile-2005.pcap");
    let nowhere = scratch.0.join("no-such-dir");
    // One rule for files and directories: the output itself may be created, its parent
    // directory must exist (nothing is created under /nonexistent).
    for (flag, name) in [
        ("--json", "x.json"),
        ("-w", "x.pcap"),
        ("--extract", "carved"),
        ("--pcap-dir", "per-transfer"),
    ] {
        let target = nowhere.join(name);
        let out = oftsniff(&[
            "-r".as_ref(),
            input.as_os_str(),
            flag.as_ref(),
            target.as_os_str(),
        ]);
        let line = one_line_failure(&out, flag);
        assert!(line.contains("no-such-dir"), "{flag}: {line}");
        assert!(!nowhere.exists(), "{flag} created {}", nowhere.display());
        assert!(
            out.stdout.is_empty(),
            "{flag}: nothing processed: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // A directory where a file is wanted.
    for flag in ["--json", "-w"] {
        let out = oftsniff(&[
            "-r".as_ref(),
            input.as_os_str(),
            flag.as_ref(),
            scratch.0.as_os_str(),
        ]);
        one_line_failure(&out, &format!("{flag} DIR"));
    }
    // A file where a directory is wanted.
    let file = scratch.0.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    for flag in ["--extract", "--pcap-dir"] {
        let out = oftsniff(&[
            "-r".as_ref(),
            input.as_os_str(),
            flag.as_ref(),
            file.as_os_str(),
        ]);
        let line = one_line_failure(&out, &format!("{flag} FILE"));
        assert!(line.contains("not a directory"), "{flag}: {line}");
    }
}

#[test]
fn bad_flag_combinations_fail_with_one_line() {
    let input = data("gaim-sendfile-2005.pcap");
    let input = input.to_str().unwrap();
    for (args, mention) in [
        (vec!["-r", input, "-C", "1"], "--write"),
        (vec!["-r", input, "-w", "/dev/null", "-W", "3"], "-C"),
        (vec!["-r", input, "-i", "lo"], "--interface"),
        (vec!["-r", input, "-c", "many"], "many"),
        (vec!["-r", input, "--backend", "bpf"], "bpf"),
        (vec!["-r", input, "--no-such-flag"], "--no-such-flag"),
        (vec![], "-r"),
    ] {
        let line = one_line_failure(&oftsniff(&args), &format!("{args:?}"));
        assert!(line.contains(mention), "{args:?}: {line}");
    }
}

#[test]
fn help_and_version_still_print_and_exit_0() {
    let out = oftsniff(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--backend"));
    let out = oftsniff(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("oftsniff "));
}

/// `oftsniff` as an unprivileged user: as root, dropped to nobody with setpriv (no
/// capabilities survive it); otherwise as the current user. None if root cannot drop.
fn unprivileged_oftsniff() -> Option<Command> {
    if !is_root() {
        return Some(Command::new(BIN));
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let mut c = Command::new(setpriv);
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        BIN,
    ]);
    Some(c)
}

/// Without root or capabilities, opening a packet socket fails; the one line names both
/// ways out.
#[test]
fn capturing_without_permission_names_sudo_and_setcap() {
    const SKIP: &str = "SKIPPED capturing_without_permission_names_sudo_and_setcap";
    let Some(mut probe) = unprivileged_oftsniff() else {
        eprintln!(
            "\n*** {SKIP}: running as root and setpriv (util-linux) is not installed, so \
             privileges cannot be dropped. ***\n"
        );
        return;
    };
    let probe = probe.arg("--version").output().expect("run oftsniff");
    if !probe.status.success() {
        eprintln!(
            "\n*** {SKIP}: uid 65534 cannot run {BIN}: {} ***\n",
            String::from_utf8_lossy(&probe.stderr).trim()
        );
        return;
    }
    for backend in ["ring", "pnet"] {
        let out = unprivileged_oftsniff()
            .unwrap()
            .args(["-i", "lo", "--backend", backend])
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap();
        let line = one_line_failure(&out, backend);
        assert!(
            line.contains("sudo") && line.contains("setcap cap_net_raw,cap_net_admin+ep"),
            "{backend}: {line}"
        );
    }
}

#[test]
fn an_output_failing_mid_run_exits_1() {
    // /dev/full opens fine and fails every write: a disk that filled up during the run.
    if !Path::new("/dev/full").exists() {
        return;
    }
    let input = data("gaim-sendfile-2005.pcap");
    let out = oftsniff(&[
        "-r".as_ref(),
        input.as_os_str(),
        "--json".as_ref(),
        "/dev/full".as_ref(),
        "-q".as_ref(),
    ]);
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(1), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("oftsniff: writing events failed")),
        "{lines:?}"
    );
}
