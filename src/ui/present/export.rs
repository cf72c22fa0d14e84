//! The clinician's export screen: the implant worksheet as it shows.

/// The worksheet's lines as the export screen shows them: the ones that scroll, and the status
/// (the daemon's last line: confirmed, or what is still to do), which always shows.
pub fn export_parts(mut lines: Vec<String>) -> (Vec<String>, String) {
    let status = lines.pop().unwrap_or_default();
    (lines, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worksheet_status_shows_apart_from_the_lines_that_scroll() {
        let (lines, status) = export_parts(vec![
            "Effective trial dose 1 mg per day: …".to_owned(),
            "The trial has not ended: the dose is confirmed after the end.".to_owned(),
        ]);
        assert_eq!(lines, ["Effective trial dose 1 mg per day: …"]);
        assert_eq!(
            status,
            "The trial has not ended: the dose is confirmed after the end."
        );
        assert_eq!(export_parts(Vec::new()), (Vec::new(), String::new()));
    }
}
