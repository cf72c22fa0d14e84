//! `titra`: the command line of the Titra trial pump (see `titra::cli`).

fn main() -> std::process::ExitCode {
    titra::cli::main()
}
