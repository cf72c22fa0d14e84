//! The decision around the trial: the pre-trial checklist, the clinician's assessment, the
//! catheter's removal and the exports.

use super::*;

#[derive(Debug, Clone, Serialize)]
pub struct AssessmentEntry {
    pub outcome: crate::journal::Outcome,
    /// The reasons for the outcome, as the clinician wrote them.
    pub note: String,
    pub by: String,
    pub at_h: f64,
    /// Whether the patient wishes to go on to an implant; None when not recorded.
    pub patient_wish: Option<crate::journal::Wish>,
    /// The implant planned (pump model, device), as the clinician wrote it; None for none.
    pub planned_implant: Option<String>,
    /// The planned implant's starting dose: the one confirmed on the worksheet (`implant`);
    /// None without a planned implant or before the dose is confirmed.
    pub planned_starting_dose_mg_per_day: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistSummary {
    pub items: Vec<ChecklistEntry>,
    /// Every item confirmed.
    pub complete: bool,
    /// The clinician's override of the items that were open; None when none was needed.
    #[serde(rename = "override")]
    pub overridden: Option<ChecklistOverride>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistEntry {
    pub id: String,
    pub text: String,
    pub confirmed: bool,
    pub confirmed_by: Option<String>,
    /// RFC 3339, on the summary's clock (before the start: the checklist is done before it).
    pub confirmed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistOverride {
    pub by: String,
    pub at: String,
    pub reason: String,
    /// The ids open when it was given.
    pub open: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CatheterRemoval {
    /// RFC 3339, and hours from the start.
    pub at: String,
    pub at_h: f64,
    pub by: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportEntry {
    pub at_h: f64,
    pub destination: String,
    pub by: String,
    pub files: Vec<String>,
}

/// The pre-trial checklist as the journal records it; None when the trial had none.
pub(super) fn checklist_summary(
    journal: &[Record],
    when: &dyn Fn(Timestamp) -> String,
) -> Option<ChecklistSummary> {
    let list = crate::journal::checklist_of(journal)?;
    Some(ChecklistSummary {
        complete: list.open().is_empty(),
        items: list
            .items
            .iter()
            .zip(&list.confirmed)
            .map(|(item, c)| ChecklistEntry {
                id: item.id.clone(),
                text: item.text.clone(),
                confirmed: c.is_some(),
                confirmed_by: c.as_ref().map(|c| c.name.clone()),
                confirmed_at: c.as_ref().map(|c| when(c.at)),
            })
            .collect(),
        overridden: list.overridden.map(|o| ChecklistOverride {
            by: o.name,
            at: when(o.at),
            reason: o.reason,
            open: o.open,
        }),
    })
}

/// The clinician's assessment (the last recorded), with the planned implant's starting dose
/// when the worksheet's dose is confirmed.
pub(super) fn assessment(
    i: &Inputs<'_>,
    span: &Span,
    implant: &ImplantWorksheet,
) -> Option<AssessmentEntry> {
    let mut a = i.journal.iter().rev().find_map(|r| match r {
        Record::Assessment {
            at,
            outcome,
            note,
            name,
            wish,
            implant,
        } => Some(AssessmentEntry {
            outcome: *outcome,
            note: note.clone(),
            by: name.clone(),
            at_h: span.h(*at),
            patient_wish: *wish,
            planned_implant: implant.clone(),
            planned_starting_dose_mg_per_day: None,
        }),
        _ => None,
    })?;
    if a.planned_implant.is_some() && implant.confirmed {
        a.planned_starting_dose_mg_per_day = implant.mg_per_day;
    }
    Some(a)
}

/// When the trial's catheter was taken out, and by whom.
pub(super) fn catheter_removal(
    i: &Inputs<'_>,
    when: &dyn Fn(Timestamp) -> String,
) -> Option<CatheterRemoval> {
    i.journal.iter().find_map(|r| match r {
        Record::CatheterRemoved { at, name, note, .. } => Some(CatheterRemoval {
            at: when(*at),
            at_h: hours(i.started, *at),
            by: name.clone(),
            note: note.clone(),
        }),
        _ => None,
    })
}

/// Earlier exports of the summary.
pub(super) fn exports(i: &Inputs<'_>, span: &Span) -> Vec<ExportEntry> {
    i.journal
        .iter()
        .filter_map(|r| match r {
            Record::Exported {
                at,
                destination,
                files,
                name,
            } => Some(ExportEntry {
                at_h: span.h(*at),
                destination: destination.clone(),
                by: name.clone(),
                files: files.iter().map(|(f, _)| f.clone()).collect(),
            }),
            _ => None,
        })
        .collect()
}
