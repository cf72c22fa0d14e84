//! The drug library loader: any file is read whole or refused whole, never half, never a panic;
//! what it accepts passes its own checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use titra_core::library::DrugLibrary;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match DrugLibrary::from_toml_str(text) {
        Ok(lib) => {
            assert!(!lib.entries.is_empty());
            assert!(lib.sedation.check().is_ok());
            for e in &lib.entries {
                // Every accepted entry can be found by what it is.
                assert!(lib.find(&e.drug, e.route, e.concentration).is_ok());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
