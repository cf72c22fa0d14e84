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
use crate::core::tr;
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

/// Helvetica's advance widths for WinAnsi's bytes 0x80 to 0xFF (Adobe's metrics; 0 where
/// WinAnsi has no character): the German letters (ä ö ü ß Ä Ö Ü), quotes („ “ ‚ ‘), dashes and
/// the rest of Western European text.
const HELVETICA_HIGH: [u16; 128] = [
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, 0, 222, 222, 333,
    333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, 278, 333, 556, 556, 556, 556, 260,
    556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 556, 537, 278, 333, 333,
    365, 556, 834, 834, 834, 611, 667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278,
    278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// WinAnsi's bytes 0x80 to 0x9F, which are not Latin-1's: the character each stands for.
const WINANSI_80_9F: [(char, u8); 27] = [
    ('€', 0x80),
    ('‚', 0x82),
    ('ƒ', 0x83),
    ('„', 0x84),
    ('…', 0x85),
    ('†', 0x86),
    ('‡', 0x87),
    ('ˆ', 0x88),
    ('‰', 0x89),
    ('Š', 0x8A),
    ('‹', 0x8B),
    ('Œ', 0x8C),
    ('Ž', 0x8E),
    ('‘', 0x91),
    ('’', 0x92),
    ('“', 0x93),
    ('”', 0x94),
    ('•', 0x95),
    ('–', 0x96),
    ('—', 0x97),
    ('˜', 0x98),
    ('™', 0x99),
    ('š', 0x9A),
    ('›', 0x9B),
    ('œ', 0x9C),
    ('ž', 0x9E),
    ('Ÿ', 0x9F),
];

/// Text in WinAnsi bytes (Latin-1 from 0xA0, so ä ö ü ß Ä Ö Ü are themselves); characters it
/// lacks are written in ASCII ("≥" as ">=", a thin space as a space), or as "?".
pub(crate) fn winansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' => out.push(c as u8),
            'μ' => out.push(0xB5),
            '≥' => out.extend_from_slice(b">="),
            '≤' => out.extend_from_slice(b"<="),
            '→' => out.extend_from_slice(b"->"),
            '−' | '‐' | '‑' => out.push(b'-'),
            '\u{2009}' | '\u{200A}' | '\u{202F}' => out.push(b' '),
            '✕' => out.push(b'x'),
            '✓' => {}
            c if (0xA0..=0xFF).contains(&u32::from(c)) => out.push(c as u8),
            c => match WINANSI_80_9F.iter().find(|(w, _)| *w == c) {
                Some((_, byte)) => out.push(*byte),
                None => out.push(b'?'),
            },
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
            0x80..=0xFF => u32::from(HELVETICA_HIGH[usize::from(b - 0x80)]),
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
        (d, hh, m) => tr!(
            "day {day} {time}",
            day = d + 1,
            time = format!("{hh:02}:{m:02}")
        ),
    }
}

/// "72 h, 3 days", "30 h", "45 min".
fn duration_words(h: f64) -> String {
    let mins = (h * 60.0).round() as i64;
    if mins < 60 {
        return format!("{mins} min");
    }
    let hours = (h * 10.0).round() / 10.0;
    if mins % 1440 == 0 {
        let days = mins / 1440;
        if days == 1 {
            tr!("{hours} h, {days} day", hours, days)
        } else {
            tr!("{hours} h, {days} days", hours, days)
        }
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
        footer(&mut page, s, i + 1, total, w);
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
        .title(TextStr(&tr!(
            "Trial summary {patient}",
            patient = s.trial.patient
        )))
        .creator(TextStr("Titra"));
    pdf.finish()
}

fn footer(page: &mut Content, s: &Summary, n: usize, total: usize, page_width: f32) {
    let mut text = tr!(
        "Titra trial summary · patient {patient} · {date} · page {n} of {total}",
        patient = s.trial.patient,
        date = s.trial.started_at.get(..10).unwrap_or(""),
        n,
        total
    );
    if s.simulated {
        text.push_str(tr!(" · SIMULATED TRIAL, NOT PATIENT DATA"));
    }
    // Smaller rather than past the margin (a long patient identifier, a longer language).
    let max = page_width - 2.0 * MARGIN;
    let size = (8.0 * max / width(&text, 8.0, false).max(1.0)).min(8.0);
    let bytes = winansi(&text);
    page.begin_text()
        .set_font(REGULAR, size)
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
    fn german_letters_quotes_and_dashes_are_written_in_winansi() {
        // Latin-1's letters are themselves in WinAnsi; the quotes and dashes are in 0x80-0x9F.
        assert_eq!(winansi("äöüß ÄÖÜ"), b"\xe4\xf6\xfc\xdf \xc4\xd6\xdc");
        assert_eq!(
            winansi("„Nicht jetzt“ – ‚so‘ — 5 € • é"),
            b"\x84Nicht jetzt\x93 \x96 \x82so\x91 \x97 5 \x80 \x95 \xe9"
        );
        // What WinAnsi lacks is never dropped silently.
        assert_eq!(winansi("a\u{202f}b ≤ 3 − 1 中"), b"a b <= 3 - 1 ?");
        // Measured with Helvetica's own widths: ß 611, Ö 778, „ 333.
        assert!((width("ßÖ„", 10.0, false) - 17.22).abs() < 0.01);
        assert!((width("äöü", 10.0, false) - 16.68).abs() < 0.01);
    }

    #[test]
    fn a_german_summary_writes_its_words_and_units_as_they_are() {
        use crate::core::lang::{Language, with};
        with(Language::German, || {
            assert_eq!(hours_words(30.3917), "Tag 2 06:24");
            assert_eq!(hours_words(4.5), "4 h 30 min");
            assert_eq!(duration_words(72.0), "72 h, 3 Tage");
            assert_eq!(duration_words(24.0), "24 h, 1 Tag");
        });
        assert_eq!(duration_words(72.0), "72 h, 3 days");
        assert_eq!(duration_words(24.0), "24 h, 1 day");
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
