//! Scenario files (`titra simulate`): read and checked like a nurse's program; anything is a
//! clear refusal naming a field, or a scenario whose check never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use titra::input::scenario::Scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Scenario::from_toml_str(text, "fuzz.toml") {
        Ok(s) => {
            let (library, source) = titra::input::check::load_library(None).expect("the shipped library");
            let _ = titra::input::check::check_scenario(&s, &library, source);
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.toml"), "{e}"),
    }
});
