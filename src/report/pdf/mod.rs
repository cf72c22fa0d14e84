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

mod charts;
mod page_one;
mod page_two;

use charts::{after_words, chart, day_table, time_course};
use page_one::page_one;
use page_two::page_two;

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
pub(crate) fn winansi(text: &str) -> Vec<u8> {
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

/// A dose-setting figure (the effective trial dose, the implant worksheet's steps and
/// proposal, the confirmed starting dose): to the microgram (0.1 mcg for a drug dosed in mcg),
/// as the rule computed it, since a clinician transcribes it. Every other figure follows the
/// screens' rules: [`show_given`] and [`show_prescribed`].
pub fn show_mg(mg: f64, unit: MassUnit) -> String {
    let ng = ng_of(mg);
    // Rounded to a microgram for mg, to 0.1 microgram for mcg, for reading; the JSON keeps
    // every nanogram.
    let step = if unit == MassUnit::Mg { 1_000 } else { 100 };
    let rounded = (ng + step / 2) / step * step;
    Amount::from_ng(rounded).in_unit(unit).to_string()
}

/// An amount given (a total, a day's, a bolus given), by the screens' rules
/// ([`crate::core::readable::amount_for`]): 3 significant digits in the drug's unit.
pub fn show_given(mg: f64, unit: MassUnit) -> String {
    crate::core::readable::amount_for(Amount::from_ng(ng_of(mg)), unit)
}

/// A setting of the program (a basal per day, a bolus dose) as the clinician's order has it
/// ([`crate::core::readable::as_prescribed`]).
pub fn show_prescribed(mg: f64, unit: MassUnit) -> String {
    crate::core::readable::as_prescribed(Amount::from_ng(ng_of(mg)), unit)
}

fn ng_of(mg: f64) -> u64 {
    (mg * 1e6).round().max(0.0) as u64
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
        // What was given, by the screens' rules; a setting as the order has it.
        assert_eq!(show_given(0.958402, MassUnit::Mg), "0.958 mg");
        assert_eq!(show_given(0.091597, MassUnit::Mg), "91.6 mcg");
        assert_eq!(show_given(12.3456, MassUnit::Mg), "12.3 mg");
        assert_eq!(show_given(0.0125, MassUnit::Mcg), "12.5 mcg");
        assert_eq!(show_prescribed(0.05, MassUnit::Mg), "0.05 mg");
        assert_eq!(hours_words(30.3917), "day 2 06:24");
        assert_eq!(hours_words(4.0), "4 h");
    }
}
