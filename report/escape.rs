//! Text from a container, made safe for the operator's terminal.
//!
//! Every string in a summary came from the container (paths, argv, names,
//! annotations) or passed near it, so none reaches a terminal as it is: a
//! file named `"/tmp/\x1b[2J\nalerts: 0"` would clear the screen and forge
//! a line. Escaped are the characters a terminal acts on or that do not
//! show, defined by [`hidden`]. The forms (docs/summary.md, "How report
//! shows text") are unambiguous because `\` itself is escaped:
//!
//! | character | shown as |
//! |---|---|
//! | `\` | `\\` |
//! | newline, carriage return, tab | `\n`, `\r`, `\t` |
//! | other C0 controls (U+0000–U+001F), DEL (U+007F) | `\x1b`, `\x7f`: two lowercase hex digits |
//! | C1 controls (U+0080–U+009F), format and separator characters | `\u{9b}`, `\u{202e}`: the code point in lowercase hex |
//!
//! JSON text ([`json`]) keeps JSON's own escapes and gets `\uXXXX` for the
//! same characters, so it stays the same JSON document.

use std::borrow::Cow;
use std::fmt::Write;

/// Characters that are invisible, or that are not shown as themselves:
/// every control character (C0, DEL, C1: general category Cc), every
/// format character (category Cf: the bidirectional controls that reorder
/// text such as U+202E, zero-width spaces and joiners, the byte order
/// mark, soft hyphen, tag characters), the line and paragraph separators
/// (Zl, Zp), and the Hangul fillers, letters that print as blanks.
///
/// The Cf list is Unicode 15.1's, written out because the dependencies
/// carry no Unicode tables; a format character added later is shown raw.
pub fn hidden(c: char) -> bool {
    c.is_control() || INVISIBLE.iter().any(|r| r.contains(&c))
}

/// Cf (Unicode 15.1), Zl, Zp, and the Hangul fillers.
const INVISIBLE: &[std::ops::RangeInclusive<char>] = &[
    '\u{ad}'..='\u{ad}',
    '\u{600}'..='\u{605}',
    '\u{61c}'..='\u{61c}',
    '\u{6dd}'..='\u{6dd}',
    '\u{70f}'..='\u{70f}',
    '\u{890}'..='\u{891}',
    '\u{8e2}'..='\u{8e2}',
    '\u{115f}'..='\u{1160}',
    '\u{180e}'..='\u{180e}',
    '\u{200b}'..='\u{200f}',
    '\u{2028}'..='\u{202e}',
    '\u{2060}'..='\u{2064}',
    '\u{2066}'..='\u{206f}',
    '\u{3164}'..='\u{3164}',
    '\u{feff}'..='\u{feff}',
    '\u{ffa0}'..='\u{ffa0}',
    '\u{fff9}'..='\u{fffb}',
    '\u{110bd}'..='\u{110bd}',
    '\u{110cd}'..='\u{110cd}',
    '\u{13430}'..='\u{1343f}',
    '\u{1bca0}'..='\u{1bca3}',
    '\u{1d173}'..='\u{1d17a}',
    '\u{e0001}'..='\u{e0001}',
    '\u{e0020}'..='\u{e007f}',
];

/// `s` as one line of plain text, every [`hidden`] character and `\`
/// escaped (the table in the module documentation). Borrows when there is
/// nothing to escape.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c == '\\' || hidden(c)) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if c < '\u{80}' && hidden(c) => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c if hidden(c) => {
                let _ = write!(o, "\\u{{{:x}}}", c as u32);
            }
            c => o.push(c),
        }
    }
    Cow::Owned(o)
}

/// Valid JSON text with every [`hidden`] character that JSON lets through
/// raw (DEL, C1, format characters: JSON only requires C0 to be escaped)
/// written as a `\uXXXX` escape (a surrogate pair above U+FFFF). Outside
/// strings valid JSON is ASCII with only space, tab, CR and LF as
/// whitespace, so such characters can only be inside strings, where the
/// escape means the same: the result parses to the same document, and is
/// byte for byte `json` when there is nothing to escape.
pub fn json(json: &str) -> Cow<'_, str> {
    let raw = |c: char| hidden(c) && !matches!(c, '\t' | '\n' | '\r');
    if !json.chars().any(raw) {
        return Cow::Borrowed(json);
    }
    let mut o = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            for unit in c.encode_utf16(&mut [0; 2]) {
                let _ = write!(o, "\\u{unit:04x}");
            }
        } else {
            o.push(c);
        }
    }
    Cow::Owned(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The inverse of [`text`]: what a reader of the report can recover.
    fn unescape(s: &str) -> Option<String> {
        let mut o = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c != '\\' {
                o.push(c);
                continue;
            }
            match it.next()? {
                '\\' => o.push('\\'),
                'n' => o.push('\n'),
                'r' => o.push('\r'),
                't' => o.push('\t'),
                'x' => {
                    let hex: String = it.by_ref().take(2).collect();
                    o.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                'u' => {
                    if it.next()? != '{' {
                        return None;
                    }
                    let hex: String = it.by_ref().take_while(|&c| c != '}').collect();
                    o.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                _ => return None,
            }
        }
        Some(o)
    }

    #[test]
    fn the_forged_line_of_the_issue_stays_on_its_line() {
        assert_eq!(text("/tmp/\x1b[2J\nalerts: 0"), r"/tmp/\x1b[2J\nalerts: 0");
    }

    #[test]
    fn each_kind_of_character_has_its_form() {
        let cases = [
            ("plain /usr/bin/ls -l", "plain /usr/bin/ls -l"),
            ("a\\b", r"a\\b"),
            (r"\x1b", r"\\x1b"),
            ("\t\r\n", r"\t\r\n"),
            ("\0\x07\x08\x1f", r"\x00\x07\x08\x1f"),
            ("\x7f", r"\x7f"),
            ("\u{80}\u{9b}\u{9f}", r"\u{80}\u{9b}\u{9f}"),
            ("abc\u{202e}txt.exe", r"abc\u{202e}txt.exe"),
            (
                "\u{2066}\u{2069}\u{200b}\u{200d}\u{feff}",
                r"\u{2066}\u{2069}\u{200b}\u{200d}\u{feff}",
            ),
            (
                "\u{2028}\u{2029}\u{ad}\u{3164}",
                r"\u{2028}\u{2029}\u{ad}\u{3164}",
            ),
            ("tag\u{e0041}", r"tag\u{e0041}"),
            // shown as themselves: printable text in any script, the
            // replacement character of a lossy decode, ordinary spaces
            (
                "ünïcødé 名前 \u{fffd} \u{a0}",
                "ünïcødé 名前 \u{fffd} \u{a0}",
            ),
        ];
        for (raw, shown) in cases {
            assert_eq!(text(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn text_without_anything_to_escape_is_borrowed() {
        assert!(matches!(text("/etc/passwd"), Cow::Borrowed(_)));
        assert!(matches!(
            json("{\n  \"a\": \"b\\n\"\n}\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_escapes_what_json_lets_through_and_keeps_its_whitespace() {
        let doc = "{\n\t\"p\": \"a\u{7f}\u{9b}\u{202e}\u{e0041}\\u001b\"\r\n}";
        assert_eq!(
            json(doc),
            "{\n\t\"p\": \"a\\u007f\\u009b\\u202e\\udb40\\udc41\\u001b\"\r\n}"
        );
    }

    proptest! {
        #[test]
        fn escaped_text_shows_nothing_hidden_and_gives_back_the_original(s in any::<String>()) {
            let shown = text(&s);
            prop_assert!(!shown.chars().any(hidden), "{:?}", shown);
            prop_assert_eq!(unescape(&shown), Some(s));
        }

        #[test]
        fn escaped_json_is_the_same_document_with_nothing_hidden_raw(
            s in any::<String>(),
            keys in proptest::collection::vec(any::<String>(), 0..4),
        ) {
            let mut obj = serde_json::Map::new();
            for k in keys {
                obj.insert(k, serde_json::Value::String(s.clone()));
            }
            obj.insert("s".into(), serde_json::Value::String(s));
            let doc = serde_json::Value::Object(obj);
            for text in [serde_json::to_string(&doc).unwrap(), serde_json::to_string_pretty(&doc).unwrap()] {
                let safe = json(&text);
                prop_assert!(!safe.chars().any(|c| hidden(c) && c != '\n'), "{:?}", safe);
                let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
                prop_assert_eq!(&back, &doc);
            }
        }
    }
}
