//! A program (the [trial] and [program] tables a nurse's wizard writes) checked against the
//! shipped drug library: any input is a finding list or a refusal, never a panic; a program with
//! no hard finding stays within every hard limit the library sets for a basal rate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use titra_core::finding::Class;
use titra_core::library::DrugLibrary;
use titra_core::program::{self, Program, Trial};

#[derive(serde::Deserialize)]
struct File {
    trial: Trial,
    program: Program,
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(file) = toml::from_str::<File>(text) else {
        return;
    };
    let library = DrugLibrary::from_toml_str(include_str!("../../config/drug-library.toml"))
        .expect("the shipped library");
    let verdict = program::validate(&file.trial, &file.program, &library);
    if verdict.class() != Class::Hard
        && let Ok(entry) = library.find(&file.program.drug, file.trial.route, file.program.concentration)
        && let Some(max) = entry.basal_per_day.hard_max
    {
        assert!(
            file.program.basal <= max,
            "a basal of {} passed a hard maximum of {}",
            file.program.basal,
            max
        );
    }
});
