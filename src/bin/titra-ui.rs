//! `titra-ui`: the touchscreen UI, a D-Bus client of `titra-pumpd`. If the daemon goes away the
//! UI says so and reconnects; delivery never depends on it.

use std::process::ExitCode;

use clap::Parser;
use slint::ComponentHandle;
use titra::ui::MainWindow;
use titra::ui::adapters::wire;
use titra::ui::client::{Daemon, follow};

#[derive(Parser)]
#[command(
    name = "titra-ui",
    version,
    about = "Titra touchscreen UI (prototype, not a medical device)"
)]
struct Args {
    /// The bus the pump daemon serves on: "system" (the pump), "session" or a D-Bus address.
    #[arg(long, default_value = "system")]
    bus: String,
}

fn main() -> ExitCode {
    titra::init_logging("warn");
    let args = Args::parse();
    let ui = match MainWindow::new() {
        Ok(ui) => ui,
        Err(e) => {
            eprintln!(
                "titra-ui: cannot open a window ({e}). On the pump run it with SLINT_BACKEND=linuxkms-software; \
                 without a display, `titra simulate SCENARIO` runs a trial in the terminal."
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("titra-ui: {e}");
            return ExitCode::from(1);
        }
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    wire(&ui, tx);
    runtime.spawn(follow(Daemon::Bus(args.bus), ui.as_weak(), rx));
    match ui.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("titra-ui: {e}");
            ExitCode::from(1)
        }
    }
}
