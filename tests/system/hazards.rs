//! The hazards table (docs/hazards.md) checked against the code, so that it cannot drift from it.
//!
//! Every table whose first column is `ID` is a hazards table. In its `Tests` cell a row names the
//! tests that prove its mitigation, each as a backtick-quoted `FILE::TEST_NAME` (a path from the
//! repository's root, then the test function's name). The check fails when a named file does not
//! exist, or holds no test function of that name: a `fn NAME(` (or `async fn NAME(`) under a
//! `#[test]` or `#[tokio::test…]` attribute, with nothing but attributes, comments and blank
//! lines in between. Tests inside `proptest!` blocks carry `#[test]` too. A plain function, a
//! commented-out test and one marked with the `ignore` attribute do not count.
//!
//! Under `## Hazards that apply` (and any other level-2 heading but the two below) every row must
//! name at least one test and its ID starts with `H`; under `## Open` (hazards that apply but lack
//! a mitigation or a test) IDs start with `O`; under `## Hazards that do not apply` with `N`. The
//! tests cells of those two sections may be empty, but what they name is checked all the same.
//! IDs are unique. Backtick-quoted file paths in the other cells (`src/engine/mod.rs`) must exist.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use crate::common::repository_path;

/// The rows of hazards that apply when the table was written. Fewer means rows were lost.
const APPLYING_ROWS: usize = 60;

/// Where a row stands, from the level-2 heading above its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Applies,
    Open,
    DoesNotApply,
}

impl Section {
    fn of_heading(heading: &str) -> Section {
        let h = heading.trim().to_lowercase();
        if h.contains("do not apply") {
            Section::DoesNotApply
        } else if h.starts_with("open") {
            Section::Open
        } else {
            Section::Applies
        }
    }

    fn prefix(self) -> char {
        match self {
            Section::Applies => 'H',
            Section::Open => 'O',
            Section::DoesNotApply => 'N',
        }
    }
}

/// A row of a hazards table.
#[derive(Debug)]
struct Row {
    id: String,
    /// Its line in the document (from 1).
    line: usize,
    section: Section,
    /// `(file, test name)` from the Tests cell.
    tests: Vec<(String, String)>,
    /// Backtick-quoted file paths in the other cells.
    files: Vec<String>,
}

/// The cells of a Markdown table line, trimmed, without the outer pipes.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim();
    let inner = inner.strip_prefix('|').unwrap_or(inner);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    inner.split('|').map(|c| c.trim().to_owned()).collect()
}

/// The spans between pairs of backticks.
fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

fn is_separator(cells: &[String]) -> bool {
    cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')))
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// A path into the repository, as the Mitigation cells name files.
fn looks_like_path(span: &str) -> bool {
    const ROOTS: [&str; 8] = [
        "src/",
        "tests/",
        "config/",
        "systemd/",
        "docs/",
        "ui/",
        "benches/",
        "examples/",
    ];
    ROOTS.iter().any(|r| span.starts_with(r)) && !span.contains(char::is_whitespace)
}

/// The hazards tables' rows, and what is malformed in them.
fn parse(doc: &str) -> (Vec<Row>, Vec<String>) {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut section = Section::Applies;
    let mut in_fence = false;
    // The open table: (its header, whether it is a hazards table, whether the separator passed).
    let mut table: Option<(Vec<String>, bool, bool)> = None;
    for (i, line) in doc.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if !trimmed.starts_with('|') {
            table = None;
            if let Some(heading) = trimmed.strip_prefix("## ") {
                section = Section::of_heading(heading);
            }
            continue;
        }
        let row = cells(line);
        let Some((header, hazards, separated)) = table.as_mut() else {
            let hazards = row.first().is_some_and(|c| c == "ID");
            if hazards && section == Section::Applies && !row.iter().any(|c| c == "Tests") {
                problems.push(format!(
                    "line {n}: a table of hazards that apply needs a Tests column"
                ));
            }
            table = Some((row, hazards, false));
            continue;
        };
        if !*separated {
            if !is_separator(&row) {
                problems.push(format!(
                    "line {n}: the table's header must be followed by |---| separators"
                ));
            }
            *separated = true;
            continue;
        }
        if !*hazards {
            continue;
        }
        let id = row[0].clone();
        if row.len() != header.len() {
            problems.push(format!(
                "{id} (line {n}): {} cells, but the header has {} (a `|` inside a cell?)",
                row.len(),
                header.len()
            ));
            continue;
        }
        let prefix = section.prefix();
        let number = id.strip_prefix(prefix).unwrap_or_default();
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            problems.push(format!(
                "{id} (line {n}): IDs in this section are {prefix}1, {prefix}2, …"
            ));
        }
        let mut tests = Vec::new();
        let mut files = Vec::new();
        for (cell, name) in row.iter().zip(header.iter()) {
            for span in backticked(cell) {
                if name == "Tests" {
                    match span.split_once("::") {
                        Some((file, test))
                            if file.ends_with(".rs")
                                && !file.starts_with('/')
                                && !file.contains("..")
                                && is_identifier(test) =>
                        {
                            tests.push((file.to_owned(), test.to_owned()));
                        }
                        _ => problems.push(format!(
                            "{id} (line {n}): `{span}` is not a `FILE::TEST_NAME` reference"
                        )),
                    }
                } else if looks_like_path(span) {
                    let file = span.split_once("::").map_or(span, |(f, _)| f);
                    files.push(file.to_owned());
                }
            }
        }
        rows.push(Row {
            id,
            line: n,
            section,
            tests,
            files,
        });
    }
    (rows, problems)
}

/// Whether `line` declares the function `name`.
fn declares(line: &str, name: &str) -> bool {
    let t = line.trim_start();
    let t = t.strip_prefix("async ").unwrap_or(t);
    t.strip_prefix("fn ")
        .and_then(|rest| rest.strip_prefix(name))
        .is_some_and(|rest| rest.starts_with('('))
}

/// How the `ignore` attribute begins (put together so that nothing scanning this file for ignored
/// tests counts this line as one).
const IGNORE_ATTRIBUTE: &str = concat!("#[", "ignore");

/// Whether the lines above a `fn` (nearest last) make it a test: walking up over attributes,
/// comments and blank lines, one of the attributes is `#[test]` or `#[tokio::test…]` and none is
/// the `ignore` attribute. Anything else ends the walk.
fn under_test_attribute(above: &[&str]) -> bool {
    let mut test = false;
    for line in above.iter().rev() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        if !t.starts_with("#[") {
            break;
        }
        if t.starts_with(IGNORE_ATTRIBUTE) {
            return false;
        }
        if t == "#[test]" || t.starts_with("#[tokio::test") {
            test = true;
        }
    }
    test
}

/// Whether `source` holds a test function called `name`.
fn has_test_fn(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    lines
        .iter()
        .enumerate()
        .any(|(i, line)| declares(line, name) && under_test_attribute(&lines[..i]))
}

/// The rows, and every way the document does not match the files `read` gives (by their path
/// from the repository's root; `None` when there is no such file).
fn check(doc: &str, read: &dyn Fn(&str) -> Option<String>) -> (Vec<Row>, Vec<String>) {
    let (rows, mut problems) = parse(doc);
    let cache: RefCell<BTreeMap<String, Option<String>>> = RefCell::new(BTreeMap::new());
    let source = |file: &str| {
        cache
            .borrow_mut()
            .entry(file.to_owned())
            .or_insert_with(|| read(file))
            .clone()
    };
    let mut first: HashMap<&str, usize> = HashMap::new();
    for row in &rows {
        let id = row.id.as_str();
        if let Some(line) = first.get(id) {
            problems.push(format!(
                "{id} (line {}): the ID is used again (first on line {line})",
                row.line
            ));
        } else {
            first.insert(id, row.line);
        }
        if row.section == Section::Applies && row.tests.is_empty() {
            problems.push(format!(
                "{id} (line {}): no tests named; a hazard that applies names the tests that prove \
                 its mitigation, or it belongs under Open",
                row.line
            ));
        }
        for (file, test) in &row.tests {
            match source(file) {
                None => problems.push(format!(
                    "{id} (line {}): `{file}::{test}`: there is no file {file}",
                    row.line
                )),
                Some(text) if !has_test_fn(&text, test) => problems.push(format!(
                    "{id} (line {}): `{file}::{test}`: {file} has no test function {test}",
                    row.line
                )),
                Some(_) => {}
            }
        }
        for file in &row.files {
            if source(file).is_none() {
                problems.push(format!(
                    "{id} (line {}): `{file}` is named but does not exist",
                    row.line
                ));
            }
        }
    }
    (rows, problems)
}

/// A file of this repository (a directory reads as empty).
fn repository_file(path: &str) -> Option<String> {
    let full = repository_path(path);
    if full.is_dir() {
        return Some(String::new());
    }
    std::fs::read_to_string(full).ok()
}

#[test]
fn every_test_the_hazards_table_names_exists() {
    let doc = repository_file("docs/hazards.md").expect("docs/hazards.md");
    let (rows, problems) = check(&doc, &repository_file);
    assert!(
        problems.is_empty(),
        "docs/hazards.md does not match the code:\n  {}",
        problems.join("\n  ")
    );
    let applying = rows
        .iter()
        .filter(|r| r.section == Section::Applies)
        .count();
    assert!(
        applying >= APPLYING_ROWS,
        "docs/hazards.md has {applying} rows of hazards that apply, it had {APPLYING_ROWS}: \
         a hazard that no longer applies moves to its own section, with the reason"
    );
    for section in [Section::Open, Section::DoesNotApply] {
        assert!(
            rows.iter().any(|r| r.section == section),
            "no {section:?} rows: the sections were renamed?"
        );
    }
    let named: usize = rows.iter().map(|r| r.tests.len()).sum();
    assert!(named >= applying, "{named} tests named for {applying} rows");
}

// ---- the check itself ------------------------------------------------------------------------

/// A source file with a test of each kind, and things that are not tests. The ignored test's
/// attribute is put in by `source()`, so that nothing scanning this file for ignored tests takes
/// the sample for one.
const SOURCE_TEMPLATE: &str = r#"
fn helper(x: u8) -> u8 {
    x
}

#[test]
fn a_real_test() {}

/// Documented, with its attribute below the comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_test() {}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn a_property(x in 0u8..10) {
        prop_assert!(helper(x) < 10);
    }
}

#[test]
IGNORED_ATTRIBUTE
fn an_ignored_test() {}

// #[test]
// fn a_commented_out_test() {}

#[test]
fn a_real_test_with_a_longer_name() {}

#[cfg(test)]
fn only_compiled_for_tests() {}
"#;

fn source() -> String {
    SOURCE_TEMPLATE.replace(
        "IGNORED_ATTRIBUTE",
        &format!("{IGNORE_ATTRIBUTE} = \"slow\"]"),
    )
}

#[test]
fn only_test_functions_count() {
    for name in [
        "a_real_test",
        "an_async_test",
        "a_property",
        "a_real_test_with_a_longer_name",
    ] {
        assert!(has_test_fn(&source(), name), "{name} is a test");
    }
    for name in [
        "helper",
        "an_ignored_test",
        "a_commented_out_test",
        "only_compiled_for_tests",
        "a_real",
        "no_such_test",
    ] {
        assert!(!has_test_fn(&source(), name), "{name} is not a test");
    }
}

/// A small table with one good row and one of each fault.
const DOC: &str = "\
# Hazards

An example reference in prose is not checked: `tests/pump.rs::not_in_a_table`.

## Hazards that apply

### Dosing

| ID | Hazard | Mitigation (code) | Alarm (priority) | Tests |
|---|---|---|---|---|
| H1 | Overdose | `src/dose.rs` `Ledger::decide` | refusal | `tests/pump.rs::a_real_test`, `tests/pump.rs::a_property` |
| H2 | Made up | `src/dose.rs` | none | `tests/pump.rs::a_made_up_test` |
| H3 | Untested | `src/dose.rs` | none |  |
| H1 | Again | `src/gone.rs` | none | `tests/gone.rs::a_real_test`, `tests/pump.rs::helper` |
| O4 | Misplaced | `src/dose.rs` | none | `tests/pump.rs::a_real_test` |
| H5 | Loose | `src/dose.rs` | none | `a_real_test` |

## Open

| ID | Hazard | What is missing | Tests |
|---|---|---|---|
| O1 | Air in line | no sensor |  |
| O2 | Tone failure | not detected | `tests/pump.rs::an_ignored_test` |

## Hazards that do not apply

| ID | Hazard | Why not |
|---|---|---|
| N1 | Battery low | no battery |
";

fn fake_files(path: &str) -> Option<String> {
    match path {
        "tests/pump.rs" => Some(source()),
        "src/dose.rs" => Some(String::new()),
        _ => None,
    }
}

#[test]
fn the_check_names_the_row_and_the_test_it_cannot_find() {
    let (rows, problems) = check(DOC, &fake_files);
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["H1", "H2", "H3", "H1", "O4", "H5", "O1", "O2", "N1"]);
    let expected = [
        "H2 (line 12): `tests/pump.rs::a_made_up_test`: tests/pump.rs has no test function a_made_up_test",
        "H3 (line 13): no tests named",
        "H1 (line 14): the ID is used again (first on line 11)",
        "H1 (line 14): `tests/gone.rs::a_real_test`: there is no file tests/gone.rs",
        "H1 (line 14): `tests/pump.rs::helper`: tests/pump.rs has no test function helper",
        "H1 (line 14): `src/gone.rs` is named but does not exist",
        "O4 (line 15): IDs in this section are H1, H2",
        "H5 (line 16): `a_real_test` is not a `FILE::TEST_NAME` reference",
        "H5 (line 16): no tests named",
        "O2 (line 23): `tests/pump.rs::an_ignored_test`: tests/pump.rs has no test function an_ignored_test",
    ];
    for e in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(e)),
            "expected {e:?} among:\n  {}",
            problems.join("\n  ")
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    // A table of good rows passes: the check does not fail everything.
    let (rows, problems) = check(GOOD, &fake_files);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(rows.len(), 3);
}

const GOOD: &str = "\
## Hazards that apply

| ID | Hazard | Mitigation (code) | Tests |
|:---|---|---|---|
| H1 | Overdose | `src/dose.rs` | `tests/pump.rs::a_real_test`, `tests/pump.rs::an_async_test` |

## Open

| ID | Hazard | What is missing | Tests |
|---|---|---|---|
| O1 | Air in line | no sensor | |

## Hazards that do not apply

| ID | Hazard | Why not |
|---|---|---|
| N1 | Battery low | no battery |
";

#[test]
fn the_checker_rejects_a_made_up_test_name() {
    // The real table with one made-up name added to its first row: the check must fail, naming
    // the row and the name.
    let doc = repository_file("docs/hazards.md").expect("docs/hazards.md");
    let first = doc
        .lines()
        .find(|l| l.starts_with("| H1 |"))
        .expect("a row H1");
    let spoiled = doc.replacen(
        first,
        &format!(
            "{} `tests/pump/engine.rs::a_test_nobody_wrote` |",
            first.trim_end().trim_end_matches('|')
        ),
        1,
    );
    let (_, problems) = check(&spoiled, &repository_file);
    assert_eq!(
        problems,
        [format!(
            "H1 (line {}): `tests/pump/engine.rs::a_test_nobody_wrote`: tests/pump/engine.rs has no test function a_test_nobody_wrote",
            doc.lines().position(|l| l == first).unwrap() + 1
        )]
    );
}
