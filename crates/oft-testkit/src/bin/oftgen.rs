//! oftgen: writes synthetic captures — the benchmark workloads and the named scenarios of
//! `oft_testkit::gen::scenarios` (each usable as `oftgen NAME OUT.pcap`).

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use oft_testkit::gen::scenarios::{self, SCENARIOS};
use oft_testkit::gen::CaptureSummary;
use oft_testkit::gen::{flood, workloads};
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "oftgen",
    about = "Write synthetic TCP captures (classic pcap, Ethernet)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
#[command(allow_external_subcommands = true)]
enum Cmd {
    /// Bulk transfers, all running at once, full-size segments (benchmark workload)
    Elephants {
        out: PathBuf,
        #[arg(long, default_value_t = workloads::Elephants::default().flows)]
        flows: usize,
        /// Payload bytes each flow carries client to server
        #[arg(long, default_value_t = workloads::Elephants::default().flow_bytes)]
        flow_bytes: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Short request/response connections: handshake, a few KB each way, FIN (benchmark workload)
    ManyFlows {
        out: PathBuf,
        #[arg(long, default_value_t = workloads::ManyFlows::default().flows)]
        flows: usize,
        /// Connections open at the same time
        #[arg(long, default_value_t = workloads::ManyFlows::default().concurrent)]
        concurrent: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Direct OFT2 file transfers, many at once: PROMPT, ACK, the file, DONE (benchmark workload)
    OftTransfers {
        out: PathBuf,
        #[arg(long, default_value_t = workloads::OftTransfers::default().transfers)]
        transfers: usize,
        /// Transfers running at the same time
        #[arg(long, default_value_t = workloads::OftTransfers::default().concurrent)]
        concurrent: usize,
        /// Bytes of each file (from 4 GiB on, the OFT headers carry the low 32 bits)
        #[arg(long, default_value_t = workloads::OftTransfers::default().file_bytes)]
        file_bytes: u64,
        /// Start the capture when PERCENT of each file has been sent (its handshake,
        /// PROMPT, ACK and first data not written): a transfer picked up midstream
        #[arg(long, value_name = "PERCENT", default_value_t = 0,
              value_parser = clap::value_parser!(u8).range(0..=100))]
        pickup_at: u8,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Flood: SYN-only connections, never answered; optionally a file transfer that
    /// starts before the flood and ends after it
    SynFlood {
        out: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        connections: u64,
        /// Bytes of a direct OFT2 transfer around the flood (0: none)
        #[arg(long, default_value_t = 0)]
        transfer: u32,
        /// Each flooding client follows its SYN with 4 bytes ("OFT2"), too few to name
        /// the connection: a sniffer writing pcap holds its frames
        #[arg(long)]
        opening: bool,
    },
    /// Flood: one connection of 100-byte segments after a hole that is never filled
    OooHoles {
        out: PathBuf,
        #[arg(long, default_value_t = 200_000)]
        segments: u64,
    },
    /// Flood: connections all open at once, each holding BYTES out of order
    OooMany {
        out: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        connections: u64,
        #[arg(long, default_value_t = 1 << 20)]
        bytes: u64,
    },
    /// Flood: a FLAP connection carrying BYTES of garbage
    FlapGarbage {
        out: PathBuf,
        #[arg(long, default_value_t = 50_000_000)]
        bytes: u64,
    },
    /// Flood: a PROMPT announcing ANNOUNCED bytes, then BYTES of data, no DONE
    PromptHuge {
        out: PathBuf,
        #[arg(long, default_value_t = 4_000_000_000)]
        announced: u32,
        #[arg(long, default_value_t = 1_000_000_000)]
        bytes: u64,
    },
    /// List the named scenarios
    List,
    /// Write the fuzz targets' seed corpora: OUT/<target>/seed-<hash> (fuzz/corpus/)
    FuzzSeeds {
        out: PathBuf,
        /// The captures and raw headers to cut seeds from as well
        #[arg(long, default_value = "tests/data")]
        data: PathBuf,
    },
    #[command(external_subcommand)]
    Scenario(Vec<OsString>),
}

/// Arguments of a named scenario: `oftgen NAME OUT.pcap [--seed N]`.
#[derive(Parser)]
struct ScenarioArgs {
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn scenario_help() -> String {
    let mut s = String::from("Scenarios (oftgen NAME OUT.pcap [--seed N]):\n");
    for sc in SCENARIOS {
        s.push_str(&format!("  {:<20} {}\n", sc.name, sc.about));
    }
    s
}

fn main() -> ExitCode {
    let cmd = Cli::command().after_help(scenario_help());
    let cli = match Cli::from_arg_matches(&cmd.get_matches()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match run(cli.cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("oftgen: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(cmd: Cmd) -> Result<(), String> {
    let started = Instant::now();
    let summary = match cmd {
        Cmd::List => {
            print!("{}", scenario_help());
            return Ok(());
        }
        Cmd::FuzzSeeds { out, data } => return fuzz_seeds(&out, &data),
        Cmd::Elephants {
            out,
            flows,
            flow_bytes,
            seed,
        } => {
            let spec = workloads::Elephants {
                flows,
                flow_bytes,
                seed,
            };
            let w = create(&out)?;
            workloads::elephants(&spec, w).map_err(|e| format!("{}: {e}", out.display()))?
        }
        Cmd::ManyFlows {
            out,
            flows,
            concurrent,
            seed,
        } => {
            let spec = workloads::ManyFlows {
                flows,
                concurrent,
                seed,
                ..workloads::ManyFlows::default()
            };
            let w = create(&out)?;
            workloads::many_flows(&spec, w).map_err(|e| format!("{}: {e}", out.display()))?
        }
        Cmd::OftTransfers {
            out,
            transfers,
            concurrent,
            file_bytes,
            pickup_at,
            seed,
        } => {
            let spec = workloads::OftTransfers {
                transfers,
                concurrent,
                file_bytes,
                pickup_percent: pickup_at,
                seed,
            };
            let w = create(&out)?;
            workloads::oft_transfers(&spec, w).map_err(|e| format!("{}: {e}", out.display()))?
        }
        Cmd::SynFlood {
            out,
            connections,
            transfer,
            opening,
        } => {
            let gen = if opening {
                flood::opening_flood
            } else {
                flood::syn_flood
            };
            gen(
                connections,
                (transfer > 0).then_some(transfer),
                create(&out)?,
            )
            .map_err(|e| format!("{}: {e}", out.display()))?
        }
        Cmd::OooHoles { out, segments } => flood::ooo_holes(segments, create(&out)?)
            .map_err(|e| format!("{}: {e}", out.display()))?,
        Cmd::OooMany {
            out,
            connections,
            bytes,
        } => flood::ooo_many(connections, bytes, create(&out)?)
            .map_err(|e| format!("{}: {e}", out.display()))?,
        Cmd::FlapGarbage { out, bytes } => flood::flap_garbage(bytes, create(&out)?)
            .map_err(|e| format!("{}: {e}", out.display()))?,
        Cmd::PromptHuge {
            out,
            announced,
            bytes,
        } => flood::prompt_huge(announced, bytes, create(&out)?)
            .map_err(|e| format!("{}: {e}", out.display()))?,
        Cmd::Scenario(args) => {
            let name = args[0].to_string_lossy().into_owned();
            let sc = scenarios::find(&name)
                .ok_or_else(|| format!("unknown command or scenario '{name}' (see oftgen list)"))?;
            let a = ScenarioArgs::try_parse_from(&args).unwrap_or_else(|e| e.exit());
            let frames = (sc.build)(a.seed)
                .write_to(create(&a.out)?)
                .map_err(|e| format!("{}: {e}", a.out.display()))?;
            let bytes = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
            CaptureSummary { frames, bytes }
        }
    };
    eprintln!(
        "oftgen: {} frames, {} bytes in {:.2} s",
        summary.frames,
        summary.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The output file, or standard output for `-` (a capture streamed into `oftsniff -r -`
/// never needs the disk).
fn create(path: &Path) -> Result<BufWriter<Box<dyn Write>>, String> {
    let out: Box<dyn Write> = if path == Path::new("-") {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?)
    };
    Ok(BufWriter::with_capacity(1 << 20, out))
}

fn fuzz_seeds(out: &Path, data: &Path) -> Result<(), String> {
    let seeds =
        oft_testkit::fuzz::seeds::collect(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let written = seeds
        .write(out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    for (target, files, bytes) in written {
        println!("{target:<12} {files:>4} seeds {bytes:>8} bytes");
    }
    Ok(())
}
