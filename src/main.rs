use clap::Parser;
use oftsniff::cli::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_interfaces {
        // Numbered like `tcpdump -D`.
        for (i, iface) in oftsniff::capture::interfaces::list_interfaces()
            .iter()
            .enumerate()
        {
            println!("{}.{iface}", i + 1);
        }
        return ExitCode::SUCCESS;
    }
    match oftsniff::run::run(&args) {
        Ok(summary) => {
            for w in &summary.warnings {
                eprintln!("oftsniff: warning: {w}");
            }
            for text in &summary.explained {
                println!("{text}");
            }
            oftsniff::run::print_counters(&summary);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
