//! `titra-pumpd`: the pump daemon. It will own the pump hardware and the trial log and serve
//! the D-Bus interface `org.titra.Pump1`; it is the only process that can move the motor.

fn main() -> std::process::ExitCode {
    eprintln!(
        "titra-pumpd: the pump daemon is not built yet. It will drive the pump on real or \
         simulated hardware, keep the trial log, and serve org.titra.Pump1 on D-Bus."
    );
    std::process::ExitCode::from(1)
}
