//! `oftpeer`: the project's test peers (FLAP relay, ARS proxy, file sender, file receiver).
//! See `oftpeer --help` and the `oft_testkit::peer` module.

use clap::Parser;
use oft_testkit::peer::cli::{self, Cli};
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
