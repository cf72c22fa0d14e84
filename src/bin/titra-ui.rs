//! `titra-ui`: the touchscreen UI. It will be a D-Bus client of `titra-pumpd`, showing the
//! patient, nurse and clinician screens.

fn main() -> std::process::ExitCode {
    eprintln!(
        "titra-ui: the touchscreen UI is not built yet. It will show the patient, nurse and \
         clinician screens and talk to titra-pumpd over D-Bus."
    );
    std::process::ExitCode::from(1)
}
