//! `edas-lab`: the experiment lab's command line ([`edas_lab::cli`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match edas_lab::cli::parse_from("edas-lab", std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
