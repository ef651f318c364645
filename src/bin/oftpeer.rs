//! `oftpeer`: the project's test peers (FLAP relay, ARS proxy, file sender, file receiver).
//! See `oftpeer --help` and `src/peer/mod.rs`.

use clap::Parser;
use oftsniff::peer::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oftpeer: error: {e}");
            ExitCode::from(1)
        }
    }
}
