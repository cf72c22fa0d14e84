//! No screen clips text (issue 22): every screen of the walk the screenshots take
//! (examples/screenshots/walk.rs), at the 800×480 landscape and the 720×1280 portrait display,
//! in English and in German,
//! rendered by slint's software renderer in the pump's font, with every text checked against
//! the box it was given (ui/widgets/words.slint): a line wider than its box, a word wider than
//! a wrapped box, or more lines than the box is high.

#[allow(dead_code)]
#[path = "../examples/screenshots/walk.rs"]
mod walk;

/// The font the pump draws in (image/build.sh installs it); .ci/run installs it here.
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

#[test]
fn no_screen_clips_its_text_at_either_display_size() {
    assert!(
        std::path::Path::new(FONT).exists(),
        "{FONT} is missing: the fit is measured in the pump's font (apt-get install fonts-dejavu-core)"
    );
    walk::init_backend().unwrap();
    let cam = walk::Camera::fit_check(
        // A picture of each screen where a text did not fit, to see why.
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui_fit"),
        // TITRA_FIT_PICTURES=all: a picture of every stop, to review the layout.
        std::env::var("TITRA_FIT_PICTURES").is_ok_and(|v| v == "all"),
    );
    // The check finds what does not fit: a word wider than the display.
    assert!(walk::misfit_found(&cam).unwrap());
    assert!(
        cam.misfits.borrow()[0].contains("\"Pump status\""),
        "{:?}",
        cam.misfits.borrow()
    );
    cam.misfits.borrow_mut().clear();
    // In every language the pump speaks: German words are longer.
    for language in titra::core::lang::Language::ALL {
        for (w, h) in [(800u32, 480u32), (720, 1280)] {
            walk::walk(&cam, w, h, language).unwrap();
        }
    }
    let stops = cam.stops.borrow().len();
    assert!(stops > 400, "the walk stopped at only {stops} screens");
    let misfits = cam.misfits.borrow();
    assert!(
        misfits.is_empty(),
        "{} texts do not fit their boxes (pictures of those screens in {}):\n{}",
        misfits.len(),
        cam.misfit_dir
            .as_ref()
            .map_or(String::new(), |d| d.display().to_string()),
        misfits.join("\n")
    );
}
