//! Command line of `oftpeer` (flags declared here, turned into each role's arguments once).

use super::log::Log;
use super::oft_recv::{FileStatus, RecvOptions};
use super::oft_send::SendOutcome;
use super::proxy_server::ProxyOptions;
use super::recv::RecvArgs;
use super::send::{SendArgs, DEFAULT_ARS_PORT};
use super::{bos, proxy_server, recv, send, Result};
use clap::{Parser, Subcommand};
use oftsniff::proto::Cookie;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Test peers for AIM/ICQ file transfer (OFT2) over real TCP: a FLAP relay standing in for the
/// OSCAR server, an ARS rendezvous proxy, a file sender and a file receiver. Each step is one
/// line on stderr; exit status 0 on success, 1 on failure, 2 on bad usage.
#[derive(Parser, Debug)]
#[command(name = "oftpeer", version)]
pub struct Cli {
    /// Give up on any wait (connect, read, accept, a PROPOSE) after this many seconds.
    #[arg(long, global = true, default_value_t = 20, value_name = "SECS")]
    pub timeout: u64,
    #[command(subcommand)]
    pub role: Role,
}

#[derive(Subcommand, Debug)]
pub enum Role {
    /// Minimal FLAP/BOS relay: clients sign on with a channel-1 frame (version 1 + TLV 0x0001 =
    /// screen name); SNAC(4,6) rendezvous messages are delivered as SNAC(4,7), PROPOSEs gaining
    /// TLV 0x0004 (the proposer's IP as seen here). Runs until killed.
    Bos {
        #[arg(long, value_name = "IP:PORT")]
        listen: SocketAddr,
    },
    /// ARS rendezvous proxy: INIT_SEND → ACK(token, ip); INIT_RECV with the same cookie and
    /// token → READY to both, then relays bytes both ways. Runs until killed or --sessions.
    Proxy {
        #[arg(long, value_name = "IP:PORT")]
        listen: SocketAddr,
        /// IP to put in ACKs (default: the address the creator connected to).
        #[arg(long, value_name = "IP")]
        advertise: Option<Ipv4Addr>,
        /// Exit after relaying this many sessions.
        #[arg(long, value_name = "N")]
        sessions: Option<usize>,
        /// How long a created session waits for its joiner before ERROR 0x001A.
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        accept_period: u64,
    },
    /// Propose files over FLAP and send them as the file sender.
    Send(SendFlags),
    /// Wait for a PROPOSE over FLAP and receive the files.
    Recv(RecvFlags),
}

#[derive(clap::Args, Debug)]
pub struct SendFlags {
    /// The BOS relay.
    #[arg(long, value_name = "IP:PORT")]
    pub bos: SocketAddr,
    /// Our screen name.
    #[arg(long, value_name = "NAME")]
    pub sn: String,
    /// The receiver's screen name.
    #[arg(long, value_name = "NAME")]
    pub to: String,
    /// Files (or directories, sent as folders) to offer.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Send as a folder of this name (names become NAME<0x01>file).
    #[arg(long, value_name = "NAME")]
    pub folder: Option<String>,
    /// Put names in the OFT headers as UTF-16BE (encoding 2).
    #[arg(long)]
    pub utf16_names: bool,
    /// Listen for the receiver here (default: our address on the BOS connection).
    #[arg(long, value_name = "IP:PORT", conflicts_with = "proxy")]
    pub listen: Option<SocketAddr>,
    /// Create a session on this ARS proxy and propose it (stage 1).
    #[arg(long, value_name = "IP:PORT")]
    pub proxy: Option<SocketAddr>,
    /// Port to listen on when --listen is not given (0: any free port).
    #[arg(long, default_value_t = 5190, value_name = "PORT")]
    pub data_port: u16,
    /// Port of a proxy the receiver proposes (stage 2).
    #[arg(long, default_value_t = DEFAULT_ARS_PORT, value_name = "PORT")]
    pub ars_port: u16,
    /// Rendezvous cookie as 16 hex digits (default: 7 random digits and a NUL).
    #[arg(long, value_name = "HEX")]
    pub cookie: Option<Cookie>,
    /// Reset the data connection (RST) after sending this many file bytes.
    #[arg(long, value_name = "BYTES")]
    pub abort_after: Option<u64>,
    /// Send file data at no more than this many bytes per second.
    #[arg(long, value_name = "BYTES_PER_SEC")]
    pub rate: Option<u64>,
}

#[derive(clap::Args, Debug)]
pub struct RecvFlags {
    #[arg(long, value_name = "IP:PORT")]
    pub bos: SocketAddr,
    #[arg(long, value_name = "NAME")]
    pub sn: String,
    /// Directory for the received files.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only take proposals from this screen name.
    #[arg(long, value_name = "NAME")]
    pub from: Option<String>,
    /// A file we already have: a PROMPT with its size and checksum is answered with DONE.
    #[arg(long, value_name = "FILE")]
    pub have: Option<PathBuf>,
    /// A partial copy: ask to RESUME from its length.
    #[arg(long, value_name = "FILE")]
    pub resume_from: Option<PathBuf>,
    /// Decline the direct offer and create a session on this proxy (stage 2).
    #[arg(long, value_name = "IP:PORT")]
    pub proxy: Option<SocketAddr>,
    /// Port of the proxy a proxied PROPOSE names (its 0x0005 is a token, not a port).
    #[arg(long, default_value_t = DEFAULT_ARS_PORT, value_name = "PORT")]
    pub ars_port: u16,
    /// Do not connect: listen at IP:PORT (0.0.0.0 = our BOS-side address, port 0 = any)
    /// and redirect the sender there (request 2, the "reverse" connection).
    #[arg(long, value_name = "IP:PORT", conflicts_with_all = ["proxy", "decline"])]
    pub redirect: Option<SocketAddr>,
    /// Decline the offer with a CANCEL (reason 1) and exit.
    #[arg(long, conflicts_with = "proxy")]
    pub decline: bool,
    /// Cancel mid-file as libpurple does: close the data connection after this many
    /// data bytes, without a DONE.
    #[arg(long, value_name = "BYTES")]
    pub cancel_after: Option<u64>,
}

/// Runs the chosen role; the error is the one line to print before exiting 1.
pub fn run(cli: Cli) -> Result<()> {
    let timeout = Duration::from_secs(cli.timeout.max(1));
    match cli.role {
        Role::Bos { listen } => bos::run(listen, &Log::new("bos")),
        Role::Proxy {
            listen,
            advertise,
            sessions,
            accept_period,
        } => proxy_server::run(
            &ProxyOptions {
                listen,
                advertise,
                accept_period: Duration::from_secs(accept_period),
                sessions,
            },
            &Log::new("proxy"),
        ),
        Role::Send(flags) => run_send(flags, timeout),
        Role::Recv(flags) => run_recv(flags, timeout),
    }
}

fn run_send(f: SendFlags, timeout: Duration) -> Result<()> {
    let log = Log::new(format!("send {}", f.sn));
    let args = SendArgs {
        bos: f.bos,
        screen_name: f.sn,
        to: f.to,
        files: f.files,
        folder: f.folder,
        utf16_names: f.utf16_names,
        listen: f.listen,
        proxy: f.proxy,
        data_port: f.data_port,
        ars_port: f.ars_port,
        cookie: f.cookie,
        abort_after: f.abort_after,
        rate: f.rate,
        timeout,
    };
    match send::run(&args, &log)? {
        SendOutcome::Completed { sent, skipped } => log.step(format_args!(
            "success: {sent} data bytes sent, {skipped} file(s) skipped"
        )),
        SendOutcome::Aborted { sent } => {
            log.step(format_args!("aborted on purpose after {sent} data bytes"))
        }
        SendOutcome::ReceiverGone { sent } => log.step(format_args!(
            "the receiver cancelled: {sent} data bytes sent"
        )),
    }
    Ok(())
}

fn run_recv(f: RecvFlags, timeout: Duration) -> Result<()> {
    let log = Log::new(format!("recv {}", f.sn));
    let args = RecvArgs {
        bos: f.bos,
        screen_name: f.sn,
        from: f.from,
        opts: RecvOptions {
            out: f.out,
            have: f.have,
            resume_from: f.resume_from,
            cancel_after: f.cancel_after,
        },
        proxy: f.proxy,
        ars_port: f.ars_port,
        redirect: f.redirect,
        decline: f.decline,
        timeout,
    };
    let done = recv::run(&args, &log)?;
    let count = |f: fn(&FileStatus) -> bool| done.iter().filter(|s| f(s)).count();
    log.step(format_args!(
        "success: {} complete, {} resumed, {} skipped, {} cancelled",
        count(|s| matches!(s, FileStatus::Complete { .. })),
        count(|s| matches!(s, FileStatus::Resumed { .. })),
        count(|s| matches!(s, FileStatus::Skipped)),
        count(|s| matches!(s, FileStatus::Cancelled { .. })),
    ));
    Ok(())
}
