//! Compiles the touchscreen UI (ui/*.slint). Debug info lets the UI tests find elements by
//! their accessible labels. The translations (lang/<language>/LC_MESSAGES/titra.po) are bundled
//! in, without a context per component: one English text has one translation, on the screens
//! as in the Rust side's `tr!`.
#[cfg(not(feature = "ui"))]
fn main() {}

#[cfg(feature = "ui")]
fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(true)
        .with_bundled_translations("lang")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    if let Err(e) = slint_build::compile_with_config("ui/main.slint", config) {
        println!("cargo:warning=slint: {e}");
        std::process::exit(1);
    }
}
