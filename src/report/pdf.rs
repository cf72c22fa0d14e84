//! The trial summary as a PDF of two pages (A4 or Letter) a clinician reads in a minute: the key
//! figures and the implant worksheet first, then charts of dose and pain per day, the day
//! table, and on the second page the pre-trial checklist, the program, changes, alarms,
//! interruptions, side effects and the decision (outcome, the patient's wish, the implant
//! planned, the catheter's removal).
//!
//! Written with pdf-writer in the PDF base-14 fonts (Helvetica, WinAnsi encoding: nothing to
//! embed, and `pdftotext` reads it back); text is measured with Helvetica's metrics to wrap it.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::core::diary::{Ashworth, OutcomeMeasure};
use crate::core::units::{Amount, MassUnit};
use crate::report::summary::Summary;

/// Paper sizes in points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    Letter,
}

impl Paper {
    fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.28, 841.89),
            Paper::Letter => (612.0, 792.0),
        }
    }
}

impl std::str::FromStr for Paper {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Ok(Paper::A4),
            "letter" => Ok(Paper::Letter),
            other => Err(format!("paper: \"{other}\" is not a4 or letter")),
        }
    }
}

const MARGIN: f32 = 42.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Helvetica's advance widths (1/1000 em) for ' ' to '~'.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Text in WinAnsi bytes; characters it lacks are written in ASCII ("≥" as ">=").
pub fn winansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' => out.push(c as u8),
            '—' => out.push(0x97),
            '–' => out.push(0x96),
            '…' => out.push(0x85),
            '·' => out.push(0xB7),
            'µ' | 'μ' => out.push(0xB5),
            '°' => out.push(0xB0),
            '×' => out.push(0xD7),
            '’' => out.push(0x92),
            '≥' => out.extend_from_slice(b">="),
            '≤' => out.extend_from_slice(b"<="),
            '→' => out.extend_from_slice(b"->"),
            '✕' => out.push(b'x'),
            '✓' => {}
            c if (c as u32) >= 0xA0 && (c as u32) <= 0xFF => out.push(c as u8),
            _ => out.push(b'?'),
        }
    }
    out
}

/// The width of a text in points.
fn width(text: &str, size: f32, bold: bool) -> f32 {
    let units: u32 = winansi(text)
        .iter()
        .map(|&b| match b {
            32..=126 => u32::from(HELVETICA[usize::from(b - 32)]),
            0x97 | 0x85 => 1000,
            _ => 556,
        })
        .sum();
    // Helvetica-Bold is a little wider; the factor keeps wrapping on the safe side.
    units as f32 / 1000.0 * size * if bold { 1.08 } else { 1.0 }
}

/// Splits a text into lines no wider than `max`.
fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if width(&candidate, size, bold) > max && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Pages being drawn, top to bottom: a paragraph that would run into the footer goes on a new
/// page (a long trial's alarms or checks never fall off the paper).
struct Page {
    /// Pages already full.
    done: Vec<Content>,
    content: Content,
    width: f32,
    height: f32,
    y: f32,
}

impl Page {
    fn new(paper: Paper) -> Page {
        let (w, h) = paper.size();
        Page {
            done: Vec::new(),
            content: Content::new(),
            width: w,
            height: h,
            y: h - MARGIN,
        }
    }

    /// Starts a new page when `needed` points do not fit above the footer.
    fn room(&mut self, needed: f32) {
        if self.y - needed < MARGIN {
            let full = std::mem::replace(&mut self.content, Content::new());
            self.done.push(full);
            self.y = self.height - MARGIN;
        }
    }

    /// Every page drawn, in order.
    fn into_pages(mut self) -> Vec<Content> {
        self.done.push(self.content);
        self.done
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let bytes = winansi(text);
        self.content
            .begin_text()
            .set_font(if bold { BOLD } else { REGULAR }, size)
            .next_line(x, y)
            .show(Str(&bytes))
            .end_text();
    }

    /// A paragraph, wrapped to the page, advancing the cursor.
    fn para(&mut self, size: f32, bold: bool, text: &str) {
        let max = self.width - 2.0 * MARGIN;
        for line in wrap(text, size, bold, max) {
            self.room(size * 1.3);
            self.y -= size * 1.3;
            self.text_at(MARGIN, self.y, size, bold, &line);
        }
    }

    fn heading(&mut self, text: &str) {
        // A heading is not left alone at the foot of a page.
        self.room(8.0 + 12.0 * 1.3 + 2.0 + 3.0 * 10.0 * 1.3);
        self.y -= 8.0;
        self.para(12.0, true, text);
        self.y -= 2.0;
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    fn fill(&mut self, rgb: (f32, f32, f32), x: f32, y: f32, w: f32, h: f32) {
        self.content
            .save_state()
            .set_fill_rgb(rgb.0, rgb.1, rgb.2)
            .rect(x, y, w, h)
            .fill_nonzero()
            .restore_state();
    }

    fn line(&mut self, rgb: (f32, f32, f32), width: f32, points: &[(f32, f32)]) {
        let Some((first, rest)) = points.split_first() else {
            return;
        };
        self.content
            .save_state()
            .set_stroke_rgb(rgb.0, rgb.1, rgb.2)
            .set_line_width(width)
            .move_to(first.0, first.1);
        for p in rest {
            self.content.line_to(p.0, p.1);
        }
        self.content.stroke().restore_state();
    }
}

const BASAL: (f32, f32, f32) = (0.56, 0.79, 0.98);
const PATIENT: (f32, f32, f32) = (0.10, 0.46, 0.82);
const SCHEDULED: (f32, f32, f32) = (0.47, 0.33, 0.72);
const CLINICIAN: (f32, f32, f32) = (0.95, 0.55, 0.10);
const PAIN: (f32, f32, f32) = (0.78, 0.16, 0.16);
const GREY: (f32, f32, f32) = (0.6, 0.6, 0.6);

/// An amount in mg shown in the drug's unit, to three decimals of a mg (0.1 mcg).
pub fn show_mg(mg: f64, unit: MassUnit) -> String {
    let ng = (mg * 1e6).round().max(0.0) as u64;
    // Rounded to a microgram for mg, to 0.1 microgram for mcg, for reading; the JSON keeps
    // every nanogram.
    let step = if unit == MassUnit::Mg { 1_000 } else { 100 };
    let rounded = (ng + step / 2) / step * step;
    Amount::from_ng(rounded).in_unit(unit).to_string()
}

fn hours_words(h: f64) -> String {
    let mins = (h * 60.0).round() as i64;
    match (mins / 1440, mins % 1440 / 60, mins % 60) {
        (0, 0, m) => format!("{m} min"),
        (0, hh, 0) => format!("{hh} h"),
        (0, hh, m) => format!("{hh} h {m} min"),
        (d, hh, m) => format!("day {} {:02}:{:02}", d + 1, hh, m),
    }
}

/// "72 h (3 days)", "30 h", "45 min".
fn duration_words(h: f64) -> String {
    let mins = (h * 60.0).round() as i64;
    if mins < 60 {
        return format!("{mins} min");
    }
    let hours = (h * 10.0).round() / 10.0;
    if mins % 1440 == 0 {
        let days = mins / 1440;
        format!("{hours} h, {days} day{}", if days == 1 { "" } else { "s" })
    } else {
        format!("{hours} h")
    }
}

/// The summary as PDF bytes.
pub fn render(s: &Summary, unit: MassUnit, paper: Paper) -> Vec<u8> {
    let mut pages = page_one(s, unit, paper).into_pages();
    pages.extend(page_two(s, unit, paper).into_pages());
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(10 + 2 * i32::try_from(i).unwrap_or(0)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(pages.len()).unwrap_or(0));
    let (w, h) = paper.size();
    let total = pages.len();
    for (i, mut page) in pages.into_iter().enumerate() {
        footer(&mut page, s, i + 1, total);
        let page = page.finish();
        let id = page_ids[i];
        let content_id = Ref::new(id.get() + 1);
        let mut p = pdf.page(id);
        p.media_box(Rect::new(0.0, 0.0, w, h));
        p.parent(tree);
        p.contents(content_id);
        p.resources()
            .fonts()
            .pair(REGULAR, regular)
            .pair(BOLD, bold);
        p.finish();
        pdf.stream(content_id, &page);
    }
    for (id, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(&format!("Trial summary {}", s.trial.patient)))
        .creator(TextStr("Titra"));
    pdf.finish()
}

fn footer(page: &mut Content, s: &Summary, n: usize, total: usize) {
    let text = format!(
        "Titra trial summary · patient {} · {} · page {n} of {total}{}",
        s.trial.patient,
        s.trial.started_at.get(..10).unwrap_or(""),
        if s.simulated {
            " · SIMULATED TRIAL, NOT PATIENT DATA"
        } else {
            ""
        }
    );
    let bytes = winansi(&text);
    page.begin_text()
        .set_font(REGULAR, 8.0)
        .next_line(MARGIN, MARGIN - 18.0)
        .show(Str(&bytes))
        .end_text();
}

fn page_one(s: &Summary, unit: MassUnit, paper: Paper) -> Page {
    let mut p = Page::new(paper);
    let t = &s.trial;
    if s.simulated {
        p.para(
            11.0,
            true,
            "SIMULATED TRIAL — simulated hardware in virtual time; not patient data.",
        );
    }
    p.para(
        18.0,
        true,
        &format!(
            "Trial summary{} — patient {}",
            if s.implant.confirmed { "" } else { " (DRAFT)" },
            t.patient
        ),
    );
    p.gap(2.0);
    p.para(
        10.0,
        false,
        &format!(
            "{} {} {} mg/mL · {} trial · catheter tip {} · from {} to {} ({})",
            capitalise(&t.route),
            t.drug,
            t.concentration_mg_per_ml,
            t.kind.replace('_', " "),
            t.catheter_tip.as_deref().unwrap_or("not recorded"),
            t.started_at.replace('T', " ").replace('Z', " UTC"),
            t.ended_at.replace('T', " ").replace('Z', " UTC"),
            duration_words(t.duration_h)
        ),
    );

    key_figures(&mut p, s, unit);
    worksheet(&mut p, s, unit);
    charts(&mut p, s, unit);
    p
}

/// The key figures: the effective dose and its basis, the response, opioids, pain or spasticity, what was delivered.
fn key_figures(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading("Key figures");
    let e = &s.effective_dose;
    p.para(
        11.0,
        true,
        &match e.mg_per_day {
            Some(d) => format!("Effective trial dose: {} per day", show_mg(d, unit)),
            None => "Effective trial dose: none".to_owned(),
        },
    );
    p.para(9.0, false, &format!("Basis: {}.", s.effective_dose_rule));
    if e.in_force_at_end_mg_per_day.is_some() {
        let stable = match &e.stable_period {
            Some(st) => format!(
                "last stable period {} (from {} to {} after the start) at a basal of {} per day with patient boluses of {} per day: {} per day{}; the log shows {} per day given in it, interruptions included",
                after_words(st.hours),
                after_words(st.from_h),
                after_words(st.to_h),
                show_mg(st.basal_mg_per_day, unit),
                show_mg(st.patient_bolus_mg_per_day, unit),
                show_mg(st.mg_per_day, unit),
                if st.reaches_end {
                    ""
                } else {
                    " (not at the end: not a basis)"
                },
                show_mg(st.given_mg_per_day, unit)
            ),
            None => format!(
                "no stable period of {} at one rate",
                after_words(e.stable_period_required_h)
            ),
        };
        p.para(
            9.0,
            false,
            &format!(
                "At the end: basal {} per day; {}. For information only: the last 24 h gave {} per day.",
                show_mg(e.in_force_at_end_mg_per_day.unwrap_or(0.0), unit),
                stable,
                show_mg(e.last_24h_mg_per_day, unit)
            ),
        );
    }
    let r = &s.response_criterion;
    p.para(
        9.0,
        false,
        &format!(
            "Response criterion: {} (source: {}).",
            r.criterion, r.source
        ),
    );
    let o = &s.opioids;
    let during: Vec<String> = o
        .per_day_mg
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "day {} {}",
                i + 1,
                v.map_or("not recorded".to_owned(), |v| format!("{v} mg"))
            )
        })
        .collect();
    p.para(
        9.0,
        false,
        &format!(
            "Opioid status: {}. Systemic opioids (oral morphine equivalents per day): before the trial {}; {}.",
            o.status_text,
            o.before_mg_per_day
                .map_or("not recorded".to_owned(), |v| format!("{v} mg")),
            during.join(", ")
        ),
    );
    let pain = &s.pain;
    let pct = |v: Option<f64>| v.map_or("not known".to_owned(), |v| format!("{v} %"));
    p.para(
        10.0,
        false,
        &format!(
            "Pain (0–10): before the trial {}, last {} (reduction {}), lowest {} (reduction {}){}",
            pain.baseline
                .map_or("not recorded".to_owned(), |v| v.to_string()),
            pain.last.map_or("none".to_owned(), |v| v.to_string()),
            pct(pain.reduction_pct),
            pain.lowest.map_or("none".to_owned(), |v| v.to_string()),
            pct(pain.reduction_lowest_pct),
            match pain.responder {
                Some(true) => " — RESPONDER",
                Some(false) => " — NOT A RESPONDER",
                None => "",
            }
        ),
    );
    if s.outcome_measure == OutcomeMeasure::Spasticity {
        p.para(
            9.0,
            false,
            "This drug's trial is judged on spasticity, not pain (drug library).",
        );
        let sp = &s.spasticity;
        let score = |v: Option<Ashworth>| v.map_or("none".to_owned(), |v| v.to_string());
        p.para(
            10.0,
            false,
            &format!(
                "Spasticity (Modified Ashworth 0–4): before the trial {}, last {}, lowest {}, fall {}{}",
                score(sp.baseline),
                score(sp.last),
                score(sp.lowest),
                sp.reduction
                    .map_or("not known".to_owned(), |r| format!("{r} points")),
                match sp.responder {
                    Some(true) => " — RESPONDER",
                    Some(false) => " — NOT A RESPONDER",
                    None => "",
                }
            ),
        );
        p.para(9.0, false, &format!("Responder: {}.", sp.responder_rule));
    } else {
        p.para(9.0, false, &format!("Responder: {}.", pain.responder_rule));
    }
    if let (Some(v), Some(label)) = (s.diary.pgic, s.diary.pgic_label) {
        p.para(
            10.0,
            false,
            &format!("The patient's impression of change at the end: {v} of 7, \"{label}\"."),
        );
    }
    let d = &s.delivered;
    p.para(
        10.0,
        false,
        &format!(
            "Delivered {} ({} mL): basal {}, patient boluses {}, scheduled boluses {}, clinician boluses {}. Patient requests {}: {} granted, {} denied.",
            show_mg(d.total_mg, unit),
            (d.total_ml * 1000.0).round() / 1000.0,
            show_mg(d.basal_mg, unit),
            show_mg(d.pca_mg, unit),
            show_mg(d.scheduled_bolus_mg, unit),
            show_mg(d.clinician_bolus_mg, unit),
            s.pca.requested,
            s.pca.granted,
            s.pca.denied
        ),
    );
}

/// The implant worksheet: routes, each step with its source, the proposal or why there is none, the confirmation.
fn worksheet(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading("Implant worksheet");
    let w = &s.implant;
    p.para(
        9.0,
        false,
        &format!(
            "Implant route: {}; trial route: {}{}.",
            w.route,
            w.trial_route,
            w.conversion
                .as_ref()
                .map_or(String::new(), |c| format!("; conversion {}", c.text))
        ),
    );
    for step in &w.steps {
        p.para(9.0, false, step);
    }
    match (&w.no_proposal_reason, w.proposed_mg_per_day) {
        (Some(why), _) => p.para(10.0, true, &format!("NO PROPOSAL: {why}")),
        (None, Some(dose)) => p.para(
            10.0,
            true,
            &format!(
                "Proposed starting dose {} per day{}.",
                show_mg(dose, unit),
                w.rule_source
                    .as_ref()
                    .map_or(String::new(), |src| format!(" (source: {src})"))
            ),
        ),
        (None, None) => {}
    }
    for f in w
        .findings
        .iter()
        .filter(|f| f.class != crate::core::finding::Class::Ok)
    {
        p.para(9.0, false, &format!("Limits: {}", f.message));
    }
    if let (Some(dose), true) = (w.mg_per_day, w.confirmed) {
        p.para(
            11.0,
            true,
            &format!(
                "Starting dose {} per day of {} {} mg/mL = {} mL/day",
                show_mg(dose, unit),
                w.drug,
                w.concentration_mg_per_ml,
                w.ml_per_day.map_or("?".to_owned(), |v| format!(
                    "{}",
                    (v * 10_000.0).round() / 10_000.0
                ))
            ),
        );
    }
    p.para(
        10.0,
        true,
        &if w.confirmed {
            format!(
                "Confirmed by {} after the trial ended{}.",
                w.confirmed_by.as_deref().unwrap_or("a clinician"),
                w.reason
                    .as_ref()
                    .map_or(String::new(), |r| format!(", with the reason: {r}"))
            )
        } else {
            "NOT CONFIRMED — draft: a clinician confirms the starting dose, after the trial ends, before the summary is final."
                .to_owned()
        },
    );
}

/// The chart (dose and pain per day, or the response to each bolus) and the day table.
fn charts(p: &mut Page, s: &Summary, unit: MassUnit) {
    if s.effective_dose.boluses.is_empty() {
        p.heading("Dose and pain per day");
        chart(p, s, unit);
    } else {
        p.heading("Response to each bolus");
        time_course(p, s, unit);
    }
    day_table(p, s, unit);
}

/// Colours for the boluses of a time-course chart, in turn.
const BOLUS_COLOURS: [(f32, f32, f32); 3] = [PATIENT, CLINICIAN, SCHEDULED];
const BOLUS_COLOUR_NAMES: [&str; 3] = ["blue", "orange", "purple"];

/// Hours after a bolus, for reading: "45 min", "4 h", "6.5 h".
fn after_words(h: f64) -> String {
    if h < 1.0 {
        format!("{} min", (h * 60.0).round())
    } else {
        format!("{} h", (h * 10.0).round() / 10.0)
    }
}

/// A bolus trial's chart: each bolus's scores against the hours after it (pain 0–10 or
/// Ashworth 0–4), the baseline dashed, and for each bolus its onset (a triangle below the
/// axis), peak (a square on the line) and the end of its effect (a vertical bar); then a line
/// per bolus with the same in words.
fn time_course(p: &mut Page, s: &Summary, unit: MassUnit) {
    let e = &s.effective_dose;
    let spasticity = s.outcome_measure == OutcomeMeasure::Spasticity;
    let top_score = if spasticity { 4.0 } else { 10.0 };
    let baseline = if spasticity {
        s.spasticity.baseline.map(|b| b.value())
    } else {
        s.pain.baseline.map(f64::from)
    };
    let height = 120.0;
    let left = MARGIN + 40.0;
    let right = p.width - MARGIN - 30.0;
    let top = p.y - 6.0;
    let bottom = top - height;
    let longest = e
        .boluses
        .iter()
        .flat_map(|b| b.scores.iter().map(|(h, _)| *h))
        .chain(e.boluses.iter().filter_map(|b| b.duration_h))
        .fold(1.0_f64, f64::max);
    // Whole hours, at least 4.
    let span = longest.ceil().max(4.0);
    let x_of = |h: f64| left + ((h / span) as f32) * (right - left);
    let y_of = |v: f64| bottom + ((v / top_score) as f32) * height;
    p.line(GREY, 0.5, &[(left, top), (left, bottom), (right, bottom)]);
    p.text_at(
        MARGIN,
        top - 8.0,
        7.0,
        false,
        if spasticity { "Ashworth 4" } else { "pain 10" },
    );
    p.text_at(MARGIN, bottom, 7.0, false, "0");
    let ticks = if span <= 12.0 {
        1.0
    } else {
        (span / 12.0).ceil()
    };
    let mut t = 0.0;
    while t <= span + 1e-9 {
        p.text_at(x_of(t) - 3.0, bottom - 9.0, 7.0, false, &format!("{t}"));
        t += ticks;
    }
    p.text_at(
        right - 90.0,
        bottom - 18.0,
        7.0,
        false,
        "hours after the bolus",
    );
    if let Some(b) = baseline {
        let y = y_of(b);
        let mut x = left;
        while x < right {
            p.line(GREY, 0.6, &[(x, y), ((x + 4.0).min(right), y)]);
            x += 8.0;
        }
    }
    for (i, b) in e.boluses.iter().enumerate() {
        let colour = BOLUS_COLOURS[i % BOLUS_COLOURS.len()];
        let points: Vec<(f32, f32)> = b.scores.iter().map(|&(h, v)| (x_of(h), y_of(v))).collect();
        if points.len() > 1 {
            p.line(colour, 1.5, &points);
        }
        for &(x, y) in &points {
            p.fill(colour, x - 1.5, y - 1.5, 3.0, 3.0);
        }
        if let Some(h) = b.onset_h {
            let x = x_of(h);
            p.line(
                colour,
                1.0,
                &[
                    (x - 3.0, bottom - 4.0),
                    (x, bottom),
                    (x + 3.0, bottom - 4.0),
                    (x - 3.0, bottom - 4.0),
                ],
            );
        }
        if let (Some(h), Some(v)) = (b.peak_h, b.peak_score) {
            p.fill(colour, x_of(h) - 3.5, y_of(v) - 3.5, 7.0, 7.0);
        }
        if let Some(h) = b.duration_h {
            let x = x_of(h);
            p.line(colour, 1.2, &[(x, bottom), (x, top)]);
        }
    }
    p.y = bottom - 22.0;
    for (i, b) in e.boluses.iter().enumerate() {
        p.para(
            8.0,
            e.bolus_index == Some(i),
            &format!(
                "{}Bolus of {} at {} after the start, {} line ({}{}): onset {}, peak {}, duration {}.",
                if e.bolus_index == Some(i) { "EFFECTIVE: " } else { "" },
                show_mg(b.dose_mg, unit),
                hours_words(b.at_h),
                BOLUS_COLOUR_NAMES[i % BOLUS_COLOUR_NAMES.len()],
                b.by,
                if b.complete { "" } else { ", NOT GIVEN WHOLE" },
                b.onset_h.map_or("none".to_owned(), after_words),
                match (b.peak_h, b.peak_score) {
                    (Some(h), Some(v)) => format!("score {v} at {}", after_words(h)),
                    _ => "none".to_owned(),
                },
                b.effect
            ),
        );
    }
    p.para(
        7.5,
        false,
        "Triangle: onset (the first response); square: peak (the best score); bar: the effect has ended (the first score that was no longer a response); dashed: before the trial.",
    );
}

/// Stacked bars of dose per day by source, and the day's mean pain as a line (scale 0–10 on the
/// right), with the pain before the trial dashed.
fn chart(p: &mut Page, s: &Summary, unit: MassUnit) {
    let height = 130.0;
    let left = MARGIN + 40.0;
    let right = p.width - MARGIN - 30.0;
    let top = p.y - 6.0;
    let bottom = top - height;
    let days = s.days.len().max(1);
    let slot = (right - left) / days as f32;
    let max = s
        .days
        .iter()
        .map(|d| d.total_mg)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    // Axes and labels.
    p.line(
        GREY,
        0.5,
        &[(left, top), (left, bottom), (right, bottom), (right, top)],
    );
    p.text_at(MARGIN, top - 8.0, 7.0, false, &show_mg(max, unit));
    p.text_at(MARGIN, bottom, 7.0, false, "0");
    p.text_at(right + 4.0, top - 8.0, 7.0, false, "pain 10");
    p.text_at(right + 4.0, bottom, 7.0, false, "0");
    for (i, d) in s.days.iter().enumerate() {
        let x = left + slot * i as f32 + slot * 0.15;
        let w = slot * 0.7;
        let mut y = bottom;
        for (v, colour) in [
            (d.basal_mg, BASAL),
            (d.pca_mg, PATIENT),
            (d.scheduled_bolus_mg, SCHEDULED),
            (d.clinician_bolus_mg, CLINICIAN),
        ] {
            let hgt = (v / max) as f32 * height;
            if hgt > 0.0 {
                p.fill(colour, x, y, w, hgt);
                y += hgt;
            }
        }
        if days <= 16 {
            p.text_at(x, bottom - 9.0, 7.0, false, &format!("day {}", d.day));
        }
    }
    let pain_y = |v: f64| bottom + (v / 10.0) as f32 * height;
    if let Some(b) = s.pain.baseline {
        let y = pain_y(f64::from(b));
        let mut x = left;
        while x < right {
            p.line(PAIN, 0.6, &[(x, y), ((x + 4.0).min(right), y)]);
            x += 8.0;
        }
    }
    let points: Vec<(f32, f32)> = s
        .days
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            d.pain_mean
                .map(|m| (left + slot * (i as f32 + 0.5), pain_y(m)))
        })
        .collect();
    if points.len() > 1 {
        p.line(PAIN, 1.5, &points);
    }
    for &(x, y) in &points {
        p.fill(PAIN, x - 2.0, y - 2.0, 4.0, 4.0);
    }
    // Legend.
    let ly = bottom - 22.0;
    let mut lx = left;
    for (label, colour) in [
        ("basal", BASAL),
        ("patient boluses", PATIENT),
        ("scheduled boluses", SCHEDULED),
        ("clinician boluses", CLINICIAN),
        ("mean pain per day (dashed: before the trial)", PAIN),
    ] {
        p.fill(colour, lx, ly, 7.0, 7.0);
        p.text_at(lx + 10.0, ly, 7.5, false, label);
        lx += 18.0 + width(label, 7.5, false);
    }
    p.y = ly - 6.0;
}

fn day_table(p: &mut Page, s: &Summary, unit: MassUnit) {
    let cols: [(&str, f32); 8] = [
        ("Day", 0.0),
        ("Total", 34.0),
        ("Basal", 100.0),
        ("Patient", 166.0),
        ("Other boluses", 232.0),
        ("Requests (granted/denied)", 302.0),
        ("Pain mean (lowest)", 408.0),
        ("Side effects", 480.0),
    ];
    p.y -= 14.0;
    let y = p.y;
    for (name, x) in cols {
        p.text_at(MARGIN + x, y, 7.5, true, name);
    }
    for d in &s.days {
        if p.y < MARGIN + 20.0 {
            p.text_at(
                MARGIN,
                p.y - 10.0,
                7.5,
                false,
                "(more days in the CSV export)",
            );
            break;
        }
        p.y -= 10.5;
        let side = d.side_effects_mild + d.side_effects_moderate + d.side_effects_severe;
        let cells = [
            d.day.to_string(),
            show_mg(d.total_mg, unit),
            show_mg(d.basal_mg, unit),
            show_mg(d.pca_mg, unit),
            show_mg(d.scheduled_bolus_mg + d.clinician_bolus_mg, unit),
            format!("{} / {}", d.pca_granted, d.pca_denied),
            match (d.pain_mean, d.pain_lowest) {
                (Some(m), Some(l)) => format!("{m} ({l})"),
                _ => "—".to_owned(),
            },
            if side == 0 {
                "none".to_owned()
            } else {
                [
                    (d.side_effects_mild, "mild"),
                    (d.side_effects_moderate, "moderate"),
                    (d.side_effects_severe, "severe"),
                ]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, w)| format!("{n} {w}"))
                .collect::<Vec<_>>()
                .join(", ")
            },
        ];
        let y = p.y;
        for ((_, x), cell) in cols.iter().zip(cells) {
            p.text_at(MARGIN + x, y, 7.5, false, &cell);
        }
    }
}

/// A time of the summary's clock, for reading ("2000-01-01 08:00 UTC").
fn clock_words(rfc3339: &str) -> String {
    let t = rfc3339.replace('T', " ").replace('Z', " UTC");
    // Seconds say nothing here: "…08:00:00 UTC" → "…08:00 UTC".
    match (t.len(), t.rfind(':')) {
        (len, Some(i)) if len >= 20 && i + 7 == len => format!("{}{}", &t[..i], &t[i + 3..]),
        _ => t,
    }
}

/// The pre-trial checklist: each item and who confirmed it, what was open and the override.
fn checklist(p: &mut Page, s: &Summary) {
    let Some(c) = &s.checklist else {
        return;
    };
    p.heading("Pre-trial checklist");
    let done: Vec<String> = c
        .items
        .iter()
        .filter(|i| i.confirmed)
        .map(|i| {
            format!(
                "{} ({}, {})",
                i.id.replace('_', " "),
                i.confirmed_by.as_deref().unwrap_or("?"),
                i.confirmed_at
                    .as_deref()
                    .map(clock_words)
                    .unwrap_or_default()
            )
        })
        .collect();
    if c.complete {
        p.para(
            9.0,
            false,
            &format!(
                "All {} items confirmed before the start: {}.",
                c.items.len(),
                done.join("; ")
            ),
        );
        return;
    }
    if !done.is_empty() {
        p.para(9.0, false, &format!("Confirmed: {}.", done.join("; ")));
    }
    let open: Vec<&str> = c
        .items
        .iter()
        .filter(|i| !i.confirmed)
        .map(|i| i.text.as_str())
        .collect();
    p.para(
        9.0,
        true,
        &format!("NOT CONFIRMED at the start: {}", open.join(" ")),
    );
    match &c.overridden {
        Some(o) => p.para(
            9.0,
            false,
            &format!(
                "Started on a clinician's override: {} at {}: {}",
                o.by,
                clock_words(&o.at),
                o.reason
            ),
        ),
        None => p.para(9.0, false, "Not overridden: delivery has not started."),
    }
}

/// The clinician's decision: outcome and reasons, the patient's wish, the implant planned with
/// its starting dose from the worksheet, and the catheter's removal.
fn decision(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading("Decision");
    match &s.assessment {
        Some(a) => {
            p.para(
                10.0,
                true,
                &format!(
                    "Outcome: {} — by {} at {}{}",
                    a.outcome,
                    a.by,
                    hours_words(a.at_h),
                    if a.note.is_empty() {
                        ".".to_owned()
                    } else {
                        format!(". Reasons: {}", a.note)
                    }
                ),
            );
            let wish = match a.patient_wish {
                Some(crate::journal::Wish::Yes) => "yes",
                Some(crate::journal::Wish::No) => "no",
                Some(crate::journal::Wish::Undecided) => "undecided",
                None => "not recorded",
            };
            p.para(
                10.0,
                false,
                &format!("The patient wishes to proceed to an implant: {wish}."),
            );
            let implant = match (&a.planned_implant, a.planned_starting_dose_mg_per_day) {
                (Some(device), Some(dose)) => format!(
                    "Planned implant: {device}, starting at {} per day of {} {} mg/mL (the worksheet's dose, confirmed by {}).",
                    show_mg(dose, unit),
                    s.implant.drug,
                    s.implant.concentration_mg_per_ml,
                    s.implant.confirmed_by.as_deref().unwrap_or("?")
                ),
                (Some(device), None) => format!(
                    "Planned implant: {device}; starting dose NOT CONFIRMED on the worksheet."
                ),
                (None, _) => "No implant planned.".to_owned(),
            };
            p.para(10.0, false, &implant);
        }
        None => p.para(10.0, false, "Not recorded yet."),
    }
    match &s.catheter_removal {
        Some(r) => p.para(
            10.0,
            false,
            &format!(
                "Catheter removed at {} ({}) by {}{}",
                clock_words(&r.at),
                hours_words(r.at_h),
                r.by,
                if r.note.is_empty() {
                    ".".to_owned()
                } else {
                    format!(": {}", r.note)
                }
            ),
        ),
        None => p.para(10.0, false, "Catheter removal: not recorded yet."),
    }
}

fn page_two(s: &Summary, unit: MassUnit, paper: Paper) -> Page {
    let mut p = Page::new(paper);
    checklist(&mut p, s);
    program_and_changes(&mut p, s, unit);
    alarms_and_interruptions(&mut p, s);
    observations_and_side_effects(&mut p, s, unit);
    p
}

/// The program at the start and the dose changes.
fn program_and_changes(p: &mut Page, s: &Summary, unit: MassUnit) {
    let pr = &s.program;
    p.heading("Program at the start");
    let mut program = format!(
        "Syringe {} mL. Basal {} per day.",
        pr.reservoir_ml,
        show_mg(pr.basal_mg_per_day, unit)
    );
    if let Some(pca) = &pr.pca {
        program.push_str(&format!(
            " Patient bolus {}, lockout {} min, at most {} per hour.",
            show_mg(pca.dose_mg, unit),
            pca.lockout_min,
            pca.max_per_hour
        ));
    }
    for b in &pr.scheduled_boluses {
        program.push_str(&format!(
            " Bolus {} at {}.",
            show_mg(b.dose_mg, unit),
            hours_words(b.at_h)
        ));
    }
    p.para(10.0, false, &program);

    p.heading("Dose changes");
    if s.titration.is_empty() {
        p.para(10.0, false, "None.");
    }
    for c in &s.titration {
        p.para(
            10.0,
            false,
            &format!(
                "{}: basal {} → {} per day (by {}).",
                hours_words(c.at_h),
                show_mg(c.from_mg_per_day, unit),
                show_mg(c.to_mg_per_day, unit),
                c.by
            ),
        );
    }
}

/// The alarms and the interruptions of delivery.
fn alarms_and_interruptions(p: &mut Page, s: &Summary) {
    p.heading("Alarms");
    if s.alarms.is_empty() {
        p.para(10.0, false, "None.");
    }
    for a in &s.alarms {
        let kind = serde_json::to_value(a.kind)
            .ok()
            .and_then(|v| v.as_str().map(|k| k.replace('_', " ")))
            .unwrap_or_default();
        p.para(
            10.0,
            false,
            &format!(
                "{}: {} ({}){}{}.",
                hours_words(a.at_h),
                kind,
                a.priority,
                a.cleared_at_h.map_or(String::new(), |c| format!(
                    ", cleared at {}",
                    hours_words(c)
                )),
                a.pressure_mmhg
                    .map_or(String::new(), |m| format!(", {m} mmHg"))
            ),
        );
    }

    p.heading("Interruptions of delivery");
    if s.interruptions.is_empty() {
        p.para(10.0, false, "None.");
    }
    for x in &s.interruptions {
        let why = match x.reason {
            "paused" => "paused by a nurse",
            "alarm" => "stopped by an alarm",
            "power" => "no power",
            other => other,
        };
        p.para(
            10.0,
            false,
            &format!(
                "{} to {}: {why}.",
                hours_words(x.from_h),
                x.to_h.map_or("the end".to_owned(), hours_words)
            ),
        );
    }
}

/// Sedation and breathing, side effects, and earlier exports.
fn observations_and_side_effects(p: &mut Page, s: &Summary, unit: MassUnit) {
    p.heading("Sedation and breathing");
    let o = &s.observations;
    if o.sedation.is_empty() && o.vitals.is_empty() && o.holds.is_empty() {
        p.para(10.0, false, "None recorded.");
    } else {
        p.para(
            10.0,
            false,
            &format!(
                "{} sedation scores (highest POSS {}); {} sets of vital signs (lowest respiratory rate {}).",
                o.sedation.len(),
                o.sedation
                    .iter()
                    .map(|x| x.poss)
                    .max()
                    .map_or("—".to_owned(), |v| v.to_string()),
                o.vitals.len(),
                o.vitals
                    .iter()
                    .filter_map(|x| x.resp_rate)
                    .min()
                    .map_or("—".to_owned(), |v| format!("{v}/min"))
            ),
        );
    }
    if let Some(schedule) = &o.schedule {
        p.para(
            10.0,
            false,
            &format!(
                "Checks: {schedule}. Missed: {}; escalated (the next one missed too): {}.",
                o.missed_checks, o.escalated_checks
            ),
        );
    }
    for hold in &o.holds {
        let review = match (hold.reviewed_at_h, &hold.reviewed_by, &hold.note) {
            (Some(at), Some(by), Some(note)) => {
                format!("reviewed by {by} at {}: {note}", hours_words(at))
            }
            _ => "not reviewed by a clinician".to_owned(),
        };
        let text = format!(
            "{}: delivery stopped for {} (sedation interlock); {} patient requests refused; {review}",
            hours_words(hold.at_h),
            hold.reason,
            hold.patient_requests_denied
        );
        let end = if text.ends_with(['.', '!', '?']) {
            ""
        } else {
            "."
        };
        p.para(10.0, false, &format!("{text}{end}"));
    }

    catheter(p, s);

    p.heading("Side effects");
    if s.side_effects.is_empty() {
        p.para(10.0, false, "None reported.");
    }
    for e in &s.side_effects {
        let what = serde_json::to_value(e.effect)
            .ok()
            .and_then(|v| v.as_str().map(|k| k.replace('_', " ")))
            .unwrap_or_default();
        let how = serde_json::to_value(e.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        p.para(
            10.0,
            false,
            &format!("{}: {what}, {how}.", hours_words(e.at_h)),
        );
    }

    decision(p, s, unit);
    if !s.exports.is_empty() {
        p.heading("Earlier exports");
        for x in &s.exports {
            p.para(
                9.0,
                false,
                &format!(
                    "{} by {} to {}: {}",
                    hours_words(x.at_h),
                    x.by,
                    x.destination,
                    x.files.join(", ")
                ),
            );
        }
    }
    p.gap(10.0);
    p.para(
        8.0,
        false,
        "Times are from the start of the trial. Amounts are rounded here to 0.001 mg (0.1 mcg); the JSON export holds them to the nanogram and the CSV export every delivery. This document is generated from the pump's hash-chained trial log.",
    );
}

/// The catheter, its site checks (those with a sign listed), and the function answers.
fn catheter(p: &mut Page, s: &Summary) {
    let c = &s.catheter;
    p.heading("Catheter and site");
    p.para(
        10.0,
        false,
        &format!(
            "{}, tip at {}{}.",
            c.kind.as_deref().unwrap_or("Catheter type not recorded"),
            c.tip.as_deref().unwrap_or("a level not recorded"),
            c.placed_h_before_start.map_or(String::new(), |h| format!(
                ", placed {} before the start",
                duration_words(h)
            ))
        ),
    );
    match c.site_check_every_h {
        Some(every) => p.para(
            10.0,
            false,
            &format!(
                "Site checks every {}: {} recorded, {} missed; possible infection raised {} times (fever from {} °C or a finding).",
                duration_words(every),
                c.site_checks.len(),
                c.missed_site_checks,
                c.possible_infection_alarms,
                c.fever_c
            ),
        ),
        None => p.para(10.0, false, "No site checks were scheduled."),
    }
    for check in c
        .site_checks
        .iter()
        .filter(|x| !x.findings.is_empty() || x.temp_c >= c.fever_c)
    {
        let found: Vec<&str> = check.findings.iter().map(|f| f.label()).collect();
        p.para(
            10.0,
            false,
            &format!(
                "{}: {} °C{}{} (by {}).",
                hours_words(check.at_h),
                check.temp_c,
                if found.is_empty() { "" } else { ", " },
                found.join(", "),
                check.by
            ),
        );
    }
    if !s.diary.function.is_empty() {
        let levels: Vec<String> = s
            .diary
            .function
            .iter()
            .map(|f| f.level.to_string())
            .collect();
        p.para(
            10.0,
            false,
            &format!(
                "Function (\"{}\"): answers {} in order (1 = the least function).",
                s.diary.function[0].question,
                levels.join(", ")
            ),
        );
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_written_in_winansi_and_measured_with_helvetica() {
        assert_eq!(winansi("0.5 mg — 50 µL ≥ 3"), b"0.5 mg \x97 50 \xb5L >= 3");
        assert!((width("Hello", 10.0, false) - 22.78).abs() < 0.01);
        let lines = wrap("one two three four five six", 10.0, false, 60.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(l, 10.0, false) <= 60.0));
        assert_eq!(lines.join(" "), "one two three four five six");
    }

    #[test]
    fn amounts_are_rounded_for_reading_in_the_drugs_unit() {
        assert_eq!(show_mg(0.958402, MassUnit::Mg), "0.958 mg");
        assert_eq!(show_mg(0.0125, MassUnit::Mcg), "12.5 mcg");
        assert_eq!(show_mg(0.0, MassUnit::Mg), "0 mg");
        assert_eq!(hours_words(30.3917), "day 2 06:24");
        assert_eq!(hours_words(4.0), "4 h");
    }
}
