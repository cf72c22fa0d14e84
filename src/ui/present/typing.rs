//! Typing on the screens: lists of choices joined by "; " (the screens' toggles) and short notes
//! typed on the text keyboard. The screens ask for these while they draw (`Checks` in
//! ui/app.slint).

const LIST_SEPARATOR: &str = "; ";

/// A list of choices joined by "; " with `item` added at the end, or taken out when it was
/// there (the screens' toggles).
pub fn toggle_item(list: &str, item: &str) -> String {
    let mut items: Vec<&str> = split_items(list).collect();
    if let Some(i) = items.iter().position(|x| *x == item) {
        items.remove(i);
    } else if !item.is_empty() {
        items.push(item);
    }
    items.join(LIST_SEPARATOR)
}

/// Whether a list joined by "; " holds `item`.
pub fn has_item(list: &str, item: &str) -> bool {
    split_items(list).any(|x| x == item)
}

/// The items of a list joined by "; ".
pub fn split_items(list: &str) -> impl Iterator<Item = &str> {
    list.split(LIST_SEPARATOR)
        .map(str::trim)
        .filter(|x| !x.is_empty())
}

/// The longest note the on-screen keyboard types (the daemon takes up to 500 characters; a
/// screen shows about this much).
pub const MAX_TYPED: usize = 200;

/// A key of the text keyboard applied to a note: "back" removes the last character, "space"
/// adds one (never first or doubled), anything else is appended, capitalised when it starts
/// the note.
pub fn type_note(text: &str, key: &str) -> String {
    let mut out = text.to_owned();
    match key {
        "back" => {
            out.pop();
        }
        "space" if !out.is_empty() && !out.ends_with(' ') && out.chars().count() < MAX_TYPED => {
            out.push(' ');
        }
        "space" => {}
        k if !k.is_empty() && out.chars().count() + k.chars().count() <= MAX_TYPED => {
            if out.is_empty() {
                out.push_str(&k.to_uppercase());
            } else {
                out.push_str(k);
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_toggle_in_a_list() {
        let l = toggle_item("", "redness");
        assert_eq!(l, "redness");
        let l = toggle_item(&l, "leak");
        assert_eq!(l, "redness; leak");
        assert!(has_item(&l, "leak"));
        assert!(!has_item(&l, "lea"), "whole items only");
        assert_eq!(toggle_item(&l, "redness"), "leak");
        assert_eq!(toggle_item("leak", "leak"), "");
        assert_eq!(toggle_item("leak", ""), "leak");
        assert_eq!(
            split_items("redness; headache_upright").collect::<Vec<_>>(),
            ["redness", "headache_upright"]
        );
        assert_eq!(split_items("").count(), 0);
    }

    #[test]
    fn the_text_keyboard_types_a_note() {
        let mut t = String::new();
        for k in [
            "space", "t", "i", "p", "space", "space", "o", "k", "back", "back", "x",
        ] {
            t = type_note(&t, k);
        }
        assert_eq!(t, "Tip x", "capitalised, no leading or double space");
        let long = "a".repeat(MAX_TYPED);
        assert_eq!(type_note(&long, "b"), long, "full");
        assert_eq!(type_note("", "back"), "");
    }
}
