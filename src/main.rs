use clap::Parser;
use oftsniff::cli::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_interfaces {
        return match oftsniff::capture::interfaces::print_list() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    match oftsniff::run::run(&args) {
        Ok(summary) => {
            for w in &summary.warnings {
                eprintln!("oftsniff: warning: {w}");
            }
            oftsniff::run::print_counters(&summary.stats);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
