//! Test harness for root-only integration tests that run programs in the network-namespace test
//! bed of `scripts/testbed.sh`.
//!
//! Include it from a test crate with
//! `#[path = "common/netns.rs"] mod netns;` (it needs no `tests/common/mod.rs`).
//!
//! * [`is_root`] / [`skip_unless_root`]: root-only tests return early with a loud message.
//! * [`Testbed::up`]: builds a bed under a unique prefix; dropping the guard (also while a test
//!   panics) runs `testbed.sh down`. Beds left behind by killed test processes are swept at the
//!   next `up`.
//! * [`Testbed::spawn`] / [`NsChild`]: a program run inside one namespace (`ip netns exec`), killed
//!   when the guard drops; [`NsChild::wait_timeout`] collects exit status and output.
//! * [`Testbed::run`]: spawn and wait with a timeout in one call.
#![allow(dead_code)] // each test crate uses a different part of the harness

use std::ffi::OsStr;
use std::io::{self, Read};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Namespace names of every bed start with this; the sweep of stale beds only looks at these.
const PREFIX_STEM: &str = "oftt";

/// True when the test runs as root (needed for `ip netns`).
pub fn is_root() -> bool {
    // The effective uid from /proc keeps test code free of `unsafe` (libc::geteuid needs it).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Returns true (and prints a loud banner) when the test must be skipped for lack of root or of
/// the `ip` tool; call as `if skip_unless_root("name") { return; }`.
pub fn skip_unless_root(test: &str) -> bool {
    let why = if !is_root() {
        Some("not running as root (network namespaces need root)")
    } else if !tool_exists("ip") {
        Some("iproute2 `ip` is not installed")
    } else {
        None
    };
    match why {
        Some(why) => {
            record_skip(test, why);
            // Straight to the process's stderr: libtest captures `eprintln!` of passing
            // tests, which would make a skipped test look like a tested one.
            use std::io::Write;
            let _ = writeln!(
                io::stderr(),
                "\n************************************************************\n\
                 ** SKIPPED {test}: {why}\n\
                 ** run the suite as root to exercise the namespace test bed\n\
                 ************************************************************\n"
            );
            true
        }
        None => false,
    }
}

/// A loud one-line banner on the real stderr (libtest does not capture it) for a test
/// that skips for want of something other than root.
pub fn loud_skip_line(why: &str) {
    use std::io::Write;
    record_skip("", why);
    let _ = writeln!(io::stderr(), "\n** SKIPPED {why}\n");
}

/// Where the skips of one `cargo test` run are tallied: one file per run, named after the
/// cargo process that runs every test binary (their common parent).
pub fn skip_tally() -> PathBuf {
    let ppid = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(str::to_owned))
        })
        .unwrap_or_else(|| "0".into());
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("skipped-tests")
        .join(ppid)
}

/// Adds a skipped test (or part of one) to this run's tally, for the count that
/// `tests/zz_skipped_summary.rs` prints at the end of the suite.
pub fn record_skip(test: &str, why: &str) {
    use std::io::Write;
    let test = if test.is_empty() {
        std::thread::current().name().unwrap_or("?").to_string()
    } else {
        test.to_string()
    };
    let tally = skip_tally();
    let _ = std::fs::create_dir_all(tally.parent().unwrap());
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&tally)
    {
        let _ = writeln!(f, "{test}: {why}");
    }
}

fn tool_exists(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// Path of `scripts/testbed.sh` in this source tree.
pub fn testbed_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed.sh")
}

/// One host of the bed: the namespace it lives in and its address.
#[derive(Clone, Debug)]
pub struct Host {
    pub ns: String,
    pub ip: Ipv4Addr,
}

/// A running test bed. `down` runs when this is dropped.
#[derive(Debug)]
pub struct Testbed {
    pub prefix: String,
    pub sender: Host,
    pub receiver: Host,
    pub proxy: Host,
    pub bos: Host,
    /// Namespace holding the bridge.
    pub bridge_ns: String,
    /// Namespace and interface where every frame crossing the bridge can be captured.
    pub monitor_ns: String,
    pub monitor_if: String,
    torn_down: bool,
}

impl Testbed {
    /// Builds a bed under a fresh prefix (`oftt<pid>x<n>`); `_tag` only labels log lines.
    pub fn up(tag: &str) -> io::Result<Testbed> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        sweep_stale_beds();
        let prefix = format!(
            "{PREFIX_STEM}{}x{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        eprintln!("[testbed {tag}] up with prefix {prefix}");
        let out = Command::new(testbed_script())
            .arg("up")
            .env("OFT_TESTBED_PREFIX", &prefix)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            // `up` cleans up after itself, but make sure.
            run_down(&prefix);
            return Err(io::Error::other(format!(
                "testbed.sh up failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let vars = String::from_utf8_lossy(&out.stdout).into_owned();
        let get = |key: &str| -> io::Result<String> {
            vars.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
                .map(str::to_owned)
                .ok_or_else(|| io::Error::other(format!("testbed.sh up did not print {key}")))
        };
        let host = |role: &str| -> io::Result<Host> {
            let ip = get(&format!("OFT_{role}_IP"))?
                .parse()
                .map_err(|e| io::Error::other(format!("bad {role} address: {e}")))?;
            Ok(Host {
                ns: get(&format!("OFT_{role}_NS"))?,
                ip,
            })
        };
        // Build the guard first so a parse failure below still tears the bed down.
        let mut bed = Testbed {
            prefix: prefix.clone(),
            sender: Host {
                ns: String::new(),
                ip: Ipv4Addr::UNSPECIFIED,
            },
            receiver: Host {
                ns: String::new(),
                ip: Ipv4Addr::UNSPECIFIED,
            },
            proxy: Host {
                ns: String::new(),
                ip: Ipv4Addr::UNSPECIFIED,
            },
            bos: Host {
                ns: String::new(),
                ip: Ipv4Addr::UNSPECIFIED,
            },
            bridge_ns: String::new(),
            monitor_ns: String::new(),
            monitor_if: String::new(),
            torn_down: false,
        };
        bed.sender = host("SENDER")?;
        bed.receiver = host("RECEIVER")?;
        bed.proxy = host("PROXY")?;
        bed.bos = host("BOS")?;
        bed.bridge_ns = get("OFT_BRIDGE_NS")?;
        bed.monitor_ns = get("OFT_MONITOR_NS")?;
        bed.monitor_if = get("OFT_MONITOR_IF")?;
        Ok(bed)
    }

    /// Starts `program args…` inside namespace `ns`, stdout and stderr captured.
    pub fn spawn<I, S>(&self, ns: &str, program: impl AsRef<OsStr>, args: I) -> io::Result<NsChild>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        NsChild::spawn(ns, program, args)
    }

    /// Runs `program args…` inside `ns` to completion; the child is killed after `timeout`.
    pub fn run<I, S>(
        &self,
        ns: &str,
        program: impl AsRef<OsStr>,
        args: I,
        timeout: Duration,
    ) -> io::Result<NsOutput>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        NsChild::spawn(ns, program, args)?.wait_timeout(timeout)
    }

    /// Tears the bed down now (also done on drop).
    pub fn down(&mut self) {
        if !self.torn_down {
            self.torn_down = true;
            run_down(&self.prefix);
        }
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.down();
    }
}

fn run_down(prefix: &str) {
    let res = Command::new(testbed_script())
        .arg("down")
        .env("OFT_TESTBED_PREFIX", prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Err(e) = res {
        eprintln!("[testbed] down for {prefix} could not run: {e}");
    }
}

/// Removes beds whose owning test process (the pid in the prefix) no longer exists, so a test
/// killed by a signal does not leave namespaces behind for ever.
fn sweep_stale_beds() {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    let mut stale = std::collections::BTreeSet::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX_STEM) else {
            continue;
        };
        let Some((prefix_tail, _role)) = rest.split_once('-') else {
            continue;
        };
        let Some((pid, _seq)) = prefix_tail.split_once('x') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            stale.insert(format!("{PREFIX_STEM}{prefix_tail}"));
        }
    }
    for prefix in stale {
        eprintln!("[testbed] removing stale bed {prefix}");
        run_down(&prefix);
    }
}

/// What a finished child left behind.
#[derive(Debug)]
pub struct NsOutput {
    /// `None` when it had to be killed at the timeout.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl NsOutput {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }
}

/// A program running inside a namespace. Killed (SIGKILL) when dropped, unless it was waited for.
pub struct NsChild {
    label: String,
    child: Option<Child>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl NsChild {
    pub fn spawn<I, S>(ns: &str, program: impl AsRef<OsStr>, args: I) -> io::Result<NsChild>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).arg(program.as_ref());
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        cmd.args(&args);
        let label = format!(
            "{ns}: {} {}",
            Path::new(program.as_ref())
                .file_name()
                .unwrap_or(program.as_ref())
                .to_string_lossy(),
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Drain both pipes on threads so a chatty child never blocks on a full pipe.
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Ok(NsChild {
            label,
            child: Some(child),
            stdout,
            stderr,
        })
    }

    /// The command line, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// OS process id of the `ip netns exec` process (it execs the program, so the same process).
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Sends SIGINT (how oftsniff is stopped); `wait_timeout` collects the result afterwards.
    pub fn interrupt(&self) -> io::Result<()> {
        self.signal("INT")
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) -> io::Result<()> {
        self.signal("TERM")
    }

    fn signal(&self, sig: &str) -> io::Result<()> {
        let Some(pid) = self.id() else {
            return Ok(());
        };
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()?;
        if st.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill -{sig} {pid} failed")))
        }
    }

    /// Waits for the process to exit; after `timeout` it is killed and `status` is `None`.
    pub fn wait_timeout(mut self, timeout: Duration) -> io::Result<NsOutput> {
        let mut child = self.child.take().expect("child present until waited for");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(st) = child.try_wait()? {
                break Some(st);
            }
            if Instant::now() >= deadline {
                eprintln!(
                    "[netns] {} timed out after {timeout:?}; killing",
                    self.label
                );
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        let stdout = join_text(self.stdout.take());
        let stderr = join_text(self.stderr.take());
        Ok(NsOutput {
            status,
            stdout,
            stderr,
        })
    }

    /// Kills the process now and returns whatever it printed.
    pub fn kill(mut self) -> NsOutput {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        NsOutput {
            status: None,
            stdout: join_text(self.stdout.take()),
            stderr: join_text(self.stderr.take()),
        }
    }
}

impl Drop for NsChild {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn join_text(h: Option<JoinHandle<Vec<u8>>>) -> String {
    h.and_then(|h| h.join().ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The port the BOS relay and the ARS proxy listen on, as AOL's did.
pub const OSCAR_PORT: u16 = 5190;

/// A test bed with `oftpeer bos` and `oftpeer proxy` running, and a scratch directory
/// (removed on drop unless `OFT_LIVE_KEEP` is set, to look at after a failure).
pub struct Lan {
    pub dir: PathBuf,
    // Field order is drop order: the servers die before the bed is torn down.
    _bos: NsChild,
    _proxy: NsChild,
    /// The `oftpeer` binary the bed's peers run.
    pub oftpeer: String,
    pub bed: Testbed,
}

impl Lan {
    /// `oftpeer`: the peer binary (`bins::oftpeer()` of `tests/common/bins.rs`).
    pub fn up(tag: &str, oftpeer: &str) -> Lan {
        let bed = Testbed::up(tag).expect("testbed up");
        let listen = |h: &Host| format!("{}:{OSCAR_PORT}", h.ip);
        let bos = bed
            .spawn(&bed.bos.ns, oftpeer, ["bos", "--listen", &listen(&bed.bos)])
            .expect("start bos");
        let proxy = bed
            .spawn(
                &bed.proxy.ns,
                oftpeer,
                ["proxy", "--listen", &listen(&bed.proxy)],
            )
            .expect("start proxy");
        let dir = std::env::temp_dir().join(format!("oftlan-{}", bed.prefix));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Lan {
            dir,
            _bos: bos,
            _proxy: proxy,
            oftpeer: oftpeer.to_string(),
            bed,
        }
    }

    pub fn bos(&self) -> String {
        format!("{}:{OSCAR_PORT}", self.bed.bos.ip)
    }

    pub fn proxy(&self) -> String {
        format!("{}:{OSCAR_PORT}", self.bed.proxy.ip)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        if std::env::var_os("OFT_LIVE_KEEP").is_some() {
            eprintln!("[lan] kept {}", self.dir.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One network namespace (named like a test bed's monitor host, so the harness's sweep of
/// stale beds removes it if this process dies), deleted on drop.
pub struct OneNs(pub String);

impl OneNs {
    pub fn new(seq: u32) -> OneNs {
        let name = format!("oftt{}x{seq}-mon", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ns = OneNs(name);
        assert!(Command::new("ip")
            .args(["netns", "add", &ns.0])
            .status()
            .unwrap()
            .success());
        assert!(Command::new("ip")
            .args(["-n", &ns.0, "link", "set", "lo", "up"])
            .status()
            .unwrap()
            .success());
        ns
    }
}

impl Drop for OneNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Two namespaces, `a` (`sender`/24 on `veth_a`) and `b` (`receiver`/24), joined by a veth
/// pair, IPv6 off. Dropping it deletes both namespaces, and with them the pair.
pub struct VethPair {
    pub a: String,
    pub b: String,
    pub veth_a: String,
}

impl VethPair {
    /// `tag` names the namespaces (`TAG-PID-Na`, `TAG-PID-Nb`); the process id and a
    /// counter keep pairs of concurrent tests apart.
    pub fn new(tag: &str, sender: Ipv4Addr, receiver: Ipv4Addr) -> VethPair {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let p = VethPair {
            a: format!("{tag}-{pid}-{n}a"),
            b: format!("{tag}-{pid}-{n}b"),
            veth_a: format!("vp{pid}x{n}a"),
        };
        let veth_b = format!("vp{pid}x{n}b");
        ip_ok(&["netns", "add", &p.a]);
        ip_ok(&["netns", "add", &p.b]);
        ip_ok(&[
            "-n", &p.a, "link", "add", &p.veth_a, "type", "veth", "peer", "name", &veth_b, "netns",
            &p.b,
        ]);
        for (ns, dev, ip) in [(&p.a, &p.veth_a, sender), (&p.b, &veth_b, receiver)] {
            let _ = Command::new("ip")
                .args(["netns", "exec", ns, "sysctl", "-qw"])
                .arg("net.ipv6.conf.all.disable_ipv6=1")
                .output();
            ip_ok(&["-n", ns, "addr", "add", &format!("{ip}/24"), "dev", dev]);
            ip_ok(&["-n", ns, "link", "set", dev, "up"]);
            ip_ok(&["-n", ns, "link", "set", "lo", "up"]);
        }
        p
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// `ip ARGS`, which must succeed.
fn ip_ok(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("spawn ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What each peer gets for its own waits; the harness kills it a little after.
pub const PEER_TIMEOUT: &str = "20";
/// How long a harness waits for a peer.
pub const WAIT: Duration = Duration::from_secs(40);

impl Lan {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Writes `len` pseudo-random bytes (seeded by the name) to `src/rel`; returns path and bytes.
    pub fn file(&self, rel: &str, len: usize) -> (PathBuf, Vec<u8>) {
        let p = self.dir.join("src").join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15
            ^ rel
                .bytes()
                .fold(len as u64, |h, b| h.rotate_left(5) ^ b as u64);
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        std::fs::write(&p, &data).unwrap();
        (p, data)
    }

    /// Runs `oftpeer recv` and `oftpeer send` for transfer number `n` (screen names `alice<n>`
    /// and `bob<n>`, cookie `cookie`), with extra arguments; returns both outputs.
    pub fn transfer<S: AsRef<str>>(
        &self,
        n: usize,
        cookie: &str,
        send_extra: &[S],
        recv_extra: &[S],
    ) -> (NsOutput, NsOutput) {
        let bos = format!("{}:{OSCAR_PORT}", self.bed.bos.ip);
        let out = self.dir.join(format!("recv{n}"));
        std::fs::create_dir_all(&out).unwrap();
        let mut recv_args: Vec<String> = [
            "--timeout",
            PEER_TIMEOUT,
            "recv",
            "--bos",
            &bos,
            "--sn",
            &format!("bob{n}"),
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        recv_args.extend(recv_extra.iter().map(|s| s.as_ref().to_string()));
        let recv = self
            .bed
            .spawn(&self.bed.receiver.ns, &self.oftpeer, &recv_args)
            .expect("start recv");
        let mut send_args: Vec<String> = [
            "--timeout",
            PEER_TIMEOUT,
            "send",
            "--bos",
            &bos,
            "--sn",
            &format!("alice{n}"),
            "--to",
            &format!("bob{n}"),
            "--cookie",
            cookie,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        send_args.extend(send_extra.iter().map(|s| s.as_ref().to_string()));
        let send = self
            .bed
            .run(&self.bed.sender.ns, &self.oftpeer, &send_args, WAIT)
            .expect("run send");
        let recv = recv.wait_timeout(WAIT).expect("wait recv");
        eprintln!(
            "---- transfer {n}: send ----\n{}---- recv ----\n{}",
            send.stderr, recv.stderr
        );
        (send, recv)
    }
}

/// Waits until `n` packet sockets are bound to `iface` in namespace `ns` (read from
/// /proc/net/packet there), so capture is known to be running before traffic starts.
pub fn wait_for_capturers(ns: &str, iface: &str, n: usize, procs: &mut [&mut NsChild]) {
    let read = |args: &[&str]| -> String {
        let o = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .output()
            .expect("ip netns exec");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let ifindex = read(&["cat", &format!("/sys/class/net/{iface}/ifindex")])
        .trim()
        .to_string();
    assert!(!ifindex.is_empty(), "no ifindex for {iface} in {ns}");
    let start = Instant::now();
    loop {
        // Columns: sk RefCnt Type Proto Iface R Rmem User Inode
        let bound = read(&["cat", "/proc/net/packet"])
            .lines()
            .skip(1)
            .filter(|l| {
                let c: Vec<&str> = l.split_whitespace().collect();
                c.len() > 5 && c[4] == ifindex && c[5] == "1"
            })
            .count();
        if bound >= n {
            return;
        }
        for p in procs.iter_mut() {
            assert!(p.is_running(), "{} exited before capturing", p.label());
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "capture never started on {iface} ({bound} of {n} sockets bound)"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub fn stop(child: NsChild, what: &str) -> NsOutput {
    child.interrupt().expect("SIGINT");
    let out = child.wait_timeout(Duration::from_secs(60)).expect("wait");
    assert!(
        out.success(),
        "{what} did not end cleanly on SIGINT ({:?}): {}",
        out.status,
        out.stderr
    );
    out
}
