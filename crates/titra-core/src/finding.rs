//! The result of checking a value against its limits: a verdict made of findings, each saying
//! which field, what value, which limit and how serious it is — so that every refusal and every
//! warning explains itself (the idea of AndroidAPS' `Constraint` and LoopKit's `Guardrail`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::tr;

/// How serious a finding is. Ordered: the verdict of a program is its most serious finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Within the usual range.
    Ok,
    /// Outside the usual (soft) range: may be used only once a nurse or clinician confirms it.
    Soft,
    /// Outside the absolute (hard) range, or inconsistent: can never be used.
    Hard,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::Ok => tr!("ok"),
            Class::Soft => tr!("needs confirmation"),
            Class::Hard => tr!("rejected"),
        })
    }
}

/// One checked field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Where the value came from, e.g. `program.basal` or `events[3].dose`.
    pub field: String,
    /// The value as entered, with its unit.
    pub value: String,
    /// The limit it was compared with, e.g. `hard maximum 20 mg/day`; empty when none applies.
    pub limit: String,
    pub class: Class,
    /// A sentence for the nurse or clinician.
    pub message: String,
    /// Where the limit comes from (the drug library entry's `source`, a label, a guideline);
    /// None for checks of consistency rather than of a clinical limit. Absent from findings
    /// logged before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Finding {
    /// The finding with the source of its limit.
    pub fn with_source(mut self, source: &str) -> Finding {
        self.source = Some(source.to_owned());
        self
    }
}

/// Every finding about one program or change, in the order they were made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// The most serious class among the findings (`Ok` when there are none).
    pub fn class(&self) -> Class {
        self.findings
            .iter()
            .map(|f| f.class)
            .max()
            .unwrap_or(Class::Ok)
    }

    pub fn is_rejected(&self) -> bool {
        self.class() == Class::Hard
    }

    /// The findings that are not `Ok`.
    pub fn problems(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.class != Class::Ok)
    }

    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub fn extend(&mut self, other: Verdict) {
        self.findings.extend(other.findings);
    }

    /// Names `source` as where the limits of the findings from `from` on come from, where a
    /// finding has a limit and no source yet.
    pub fn cite_from(&mut self, from: usize, source: &str) {
        for f in self.findings.iter_mut().skip(from) {
            if f.source.is_none() && !f.limit.is_empty() {
                f.source = Some(source.to_owned());
            }
        }
    }

    /// Adds a finding with the limit it was judged against.
    pub fn add(
        &mut self,
        field: &str,
        value: impl fmt::Display,
        limit: impl fmt::Display,
        class: Class,
        message: impl Into<String>,
    ) {
        self.push(Finding {
            field: field.to_owned(),
            value: value.to_string(),
            limit: limit.to_string(),
            class,
            message: message.into(),
            source: None,
        });
    }

    /// Adds a hard finding that is about consistency rather than a range.
    pub fn hard(&mut self, field: &str, value: impl fmt::Display, message: impl Into<String>) {
        self.add(field, value, "", Class::Hard, message);
    }

    /// Adds a soft finding that is about consistency rather than a range.
    pub fn soft(
        &mut self,
        field: &str,
        value: impl fmt::Display,
        limit: impl fmt::Display,
        message: impl Into<String>,
    ) {
        self.add(field, value, limit, Class::Soft, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_told_in_the_nurses_words_and_ordered_by_seriousness() {
        let words: Vec<String> = [Class::Ok, Class::Soft, Class::Hard]
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(words, ["ok", "needs confirmation", "rejected"]);
        assert!(Class::Ok < Class::Soft && Class::Soft < Class::Hard);
    }
}
