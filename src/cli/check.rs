//! `titra check`: a program checked against the drug library, written out for a nurse.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::core::finding::Class;
use crate::input::check::{self, CheckReport};

pub(crate) fn run_check(
    file: &std::path::Path,
    library: Option<&std::path::Path>,
    json: bool,
) -> ExitCode {
    match check::check_file(file, library) {
        Ok(report) => {
            if json {
                match serde_json::to_string_pretty(&report) {
                    Ok(text) => println!("{text}"),
                    Err(e) => {
                        eprintln!("internal error: cannot write the report as JSON: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                print!("{}", render(&report));
            }
            ExitCode::from(u8::try_from(report.exit_code()).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("Cannot check {}: {e}", file.display());
            ExitCode::from(2)
        }
    }
}

/// The report as a nurse reads it.
pub fn render(report: &CheckReport) -> String {
    let t = &report.trial;
    let p = &report.program;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Program check for patient {}: {} {} {}, {} trial of {}",
        t.patient,
        t.route,
        p.drug,
        p.concentration,
        t.kind.to_string().replace('_', " "),
        t.duration
    );
    let _ = writeln!(
        out,
        "Drug library: {} ({})",
        report.library.name, report.library.review
    );
    let _ = writeln!(out);
    for f in &report.verdict.findings {
        let mark = match f.class {
            Class::Ok => "  ok     ",
            Class::Soft => "  CONFIRM",
            Class::Hard => "  REJECT ",
        };
        let _ = writeln!(out, "{mark} {}: {}", f.field, f.message);
        if f.class != Class::Ok
            && let Some(source) = &f.source
        {
            let _ = writeln!(
                out,
                "            limit: {}; source: {source}",
                if f.limit.is_empty() { "-" } else { &f.limit }
            );
        }
    }
    let soft = report
        .verdict
        .findings
        .iter()
        .filter(|f| f.class == Class::Soft)
        .count();
    let hard = report
        .verdict
        .findings
        .iter()
        .filter(|f| f.class == Class::Hard)
        .count();
    let _ = writeln!(out);
    let plural = |n: usize| if n == 1 { "setting" } else { "settings" };
    let _ = match report.class {
        Class::Hard => writeln!(
            out,
            "Result: REJECTED. {hard} {} cannot be used; nothing will be delivered with this program.",
            plural(hard)
        ),
        Class::Soft => writeln!(
            out,
            "Result: ACCEPTABLE once confirmed. {soft} {} outside the usual range must be confirmed by a nurse or clinician.",
            plural(soft)
        ),
        Class::Ok => writeln!(
            out,
            "Result: ACCEPTABLE. Every setting is within the library's usual range."
        ),
    };
    out
}
