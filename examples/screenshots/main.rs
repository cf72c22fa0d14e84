//! `cargo run --example screenshots`: renders every screen of the touchscreen UI headless (the
//! software renderer of slint's testing backend) at both display sizes, in English into
//! docs/screenshots/*.png and in German into docs/screenshots/de/, for the README.

// The walk is shared with the fit test (tests/ui_fit.rs), whose own check is unused here.
#[allow(dead_code)]
mod walk;

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    walk::init_backend()?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir)?;
    let cam = walk::Camera {
        dir: Some(dir),
        check_fit: false,
        misfits: Default::default(),
        stops: Default::default(),
        misfit_dir: None,
        every_picture: false,
    };
    // English in docs/screenshots/, German in docs/screenshots/de/.
    for language in titra::core::lang::Language::ALL {
        for (w, h) in [(800u32, 480u32), (720, 1280)] {
            walk::walk(&cam, w, h, language)?;
        }
    }
    Ok(())
}
