use clap::error::ErrorKind;
use clap::Parser;
use oftsniff::cli::Args;
use std::process::ExitCode;

/// clap's own rendering spans several lines (error, usage, hint); the contract for bad
/// input is one line and exit code 2, so keep the error text and point at --help.
fn usage_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let msg: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:"))
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("tip:") && !l.starts_with("For more information")
        })
        .collect();
    let msg = msg.join(" ");
    let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
    format!("oftsniff: {msg} (see oftsniff --help)")
}

fn main() -> ExitCode {
    bound_allocator_slack();
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", usage_error_line(&e));
            return ExitCode::from(2);
        }
    };
    if let Some(what) = args.generate {
        let mut out = std::io::stdout().lock();
        return match oftsniff::cli::generate::generate(what, &mut out) {
            Ok(()) => ExitCode::SUCCESS,
            // `--generate man | head`: the reader stopped early, which is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("oftsniff: --generate: {e}");
                ExitCode::from(2)
            }
        };
    }
    if args.list_interfaces {
        // Numbered like `tcpdump -D`, the pseudo-device last.
        let list = oftsniff::capture::interfaces::list_interfaces();
        for (i, iface) in list.iter().enumerate() {
            println!("{}.{iface}", i + 1);
        }
        println!(
            "{}.{} (Pseudo-device that captures on all interfaces) [Up, Running]",
            list.len() + 1,
            oftsniff::capture::ANY_INTERFACE
        );
        return ExitCode::SUCCESS;
    }
    // From here on the program sees only the configuration, never the flags.
    let config = match args.into_config() {
        Ok(c) => c,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    if !config.compare.is_empty() {
        return match oftsniff::pipeline::compare::compare(&config) {
            Ok(done) => {
                print_warnings(&done.warnings);
                print!("{}", done.text);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    match oftsniff::pipeline::run(&config) {
        Ok(summary) => {
            print_warnings(&summary.warnings);
            for text in &summary.explained {
                println!("{text}");
            }
            oftsniff::pipeline::print_counters(&summary);
            if summary.output_failed {
                // Already said on stderr when it happened.
                ExitCode::from(1)
            } else if summary.input_damaged {
                // As tcpdump on a truncated file: everything there was read, and the exit
                // code says the input was damaged.
                ExitCode::from(oftsniff::pipeline::EXIT_INPUT)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.code)
        }
    }
}

fn print_warnings(warnings: &[String]) {
    for w in warnings {
        // Capture warnings already carry the "oftsniff: warning:" prefix.
        if w.starts_with("oftsniff:") {
            eprintln!("{w}");
        } else {
            eprintln!("oftsniff: warning: {w}");
        }
    }
}

// Frames are allocated on the capture thread and freed on a worker (or the pcap writer):
// glibc's allocator serializes such cross-thread frees on arena locks, which cost more
// than all of decoding on the offline benchmark; mimalloc frees them cheaply.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (mimalloc v3's `mi_option_t`, which the bindings
/// do not name): milliseconds before freed pages go back to the system.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps what the allocator holds beyond the live heap small, so peak RSS is `--memcap`
/// plus a fixed base (README, Memory). Measured on a 1 M SYN flood at `--memcap 64M`,
/// 2 workers: 147–157 MB peak RSS with mimalloc's defaults, 106 MB with both settings.
/// - Transparent huge pages off: mimalloc asks for them on its arenas, and one touched
///   byte then makes 2 MiB resident; flows spread over many pages pin far more than
///   they hold.
/// - Freed pages go back at once instead of after 10 ms (100 ms for arenas): a flood
///   evicts and opens flows faster than that, so the pages freed in one thread were
///   still resident when another thread faulted in new ones.
fn bound_allocator_slack() {
    // SAFETY: prctl(PR_SET_THP_DISABLE) takes plain integers and touches no memory of
    // ours; on a kernel without it the call fails and nothing changes.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    // SAFETY: called at the start of main, before any other thread exists (the option
    // setter is not thread safe); the option index and value are plain integers.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}
