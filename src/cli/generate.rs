//! `oftsniff --generate man|bash|zsh|fish`: the man page and shell completions, made from
//! the same clap definition as `--help`, so they cannot drift from the flags.

use super::{Args, Generate};
use clap::CommandFactory;
use std::io::{self, Write};

/// Writes what was asked for to `out`.
pub fn generate(what: Generate, out: &mut dyn Write) -> io::Result<()> {
    let mut cmd = Args::command();
    let name = cmd.get_name().to_string();
    match what {
        Generate::Man => clap_mangen::Man::new(cmd).render(out),
        Generate::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, name, out);
            Ok(())
        }
        Generate::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, name, out);
            Ok(())
        }
        Generate::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, name, out);
            Ok(())
        }
    }
}
