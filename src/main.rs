//! Thin entry point: parse the command line and hand over to `parley::cli`.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    parley::cli::run(parley::cli::Cli::parse())
}
