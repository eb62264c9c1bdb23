//! Characters that make a name or an address look like something else: invisible ones, and
//! ones that reorder the text around them. A name made of them looks blank, or like another
//! name, in every list and mail that shows it.

/// Zero-width, blank-looking and direction-changing characters. The zero-width joiner and the
/// variation selectors are not among them: emoji are made with them (see [`has_visible`]).
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'
            | '\u{200C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether the text shows at least one character: not only spaces, joiners, variation
/// selectors and combining marks.
pub fn has_visible(text: &str) -> bool {
    text.chars().any(|c| {
        !c.is_whitespace()
            && !is_invisible(c)
            && !matches!(c, '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{0300}'..='\u{036F}')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_and_scripts_are_visible_and_tricks_are_not() {
        for shown in [
            "👨\u{200D}👩\u{200D}👧 family",
            "❤\u{FE0F} love",
            "Équipe",
            "決済",
            "תשלומים",
        ] {
            assert!(has_visible(shown), "{shown}");
            assert!(!shown.chars().any(is_invisible), "{shown}");
        }
        for trick in [
            "a\u{202E}b",
            "x\u{200B}",
            "\u{FEFF}a",
            "a\u{2066}b",
            "a\u{2028}b",
            "\u{E0041}",
        ] {
            assert!(trick.chars().any(is_invisible), "{trick:?}");
        }
        for blank in ["\u{200D}", "\u{FE0F}\u{0301}", " \u{3000}"] {
            assert!(!has_visible(blank), "{blank:?}");
        }
    }
}
