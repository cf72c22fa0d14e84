//! Compiles the touchscreen UI (ui/*.slint). Debug info lets the UI tests find elements by
//! their accessible labels.
#[cfg(not(feature = "ui"))]
fn main() {}

#[cfg(feature = "ui")]
fn main() {
    let config = slint_build::CompilerConfiguration::new().with_debug_info(true);
    if let Err(e) = slint_build::compile_with_config("ui/main.slint", config) {
        println!("cargo:warning=slint: {e}");
        std::process::exit(1);
    }
}
