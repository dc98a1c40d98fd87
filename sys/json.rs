//! Editing a JSON document by byte span, for files that belong to someone
//! else (a bundle's config.json, Docker's daemon.json).
//!
//! Parsing such a file into a tree and printing it again changes what it
//! says: serde_json turns `-0` into `-0.0` (runc then refuses the
//! container: "cannot unmarshal number -0.0 into ... int"),
//! `12345678901234567890123` into `1.2345678901234568e+22`, `1E2` into
//! `100.0`, and drops all but one of duplicate keys. So nothing is
//! re-printed here: serde_json only validates the text and, through
//! `&RawValue` borrowed from it, says where each value starts and ends.
//! An edit replaces, inserts or deletes whole members and elements at those
//! spans; every byte outside them stays as it was.
//!
//! Object keys are matched the way Go's encoding/json (runc, dockerd)
//! matches struct fields: exactly or case-insensitively, with the Kelvin
//! sign and the long s folding to `k` and `s`. A name that appears more
//! than once is refused by [`Container::find`]'s callers, because which of
//! them a Go reader uses (it merges them) is not something to guess.

use std::fmt;
use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The most of a bundle's config.json the wrappers and the hook read: 8 MiB. A large
/// spec (a few thousand environment variables, Kubernetes' 256 KiB of
/// annotations, a long seccomp profile) is well below 1 MiB; a larger file
/// is refused rather than read (`/dev/zero` reaches the cap at once and is
/// refused before that, as it is not a regular file).
pub const CONFIG_JSON_MAX: u64 = 8 << 20;

/// Why a text could not be edited.
#[derive(Debug)]
pub enum Error {
    /// Not JSON at all (serde_json's message has the line and column).
    Syntax(serde_json::Error),
    /// Valid JSON, but not of the shape the edit needs; `field` is the dotted
    /// path of the value ("" for the document itself).
    Shape { field: String, message: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Syntax(e) => write!(f, "not valid JSON: {e}"),
            Error::Shape { field, message } if field.is_empty() => f.write_str(message),
            Error::Shape { field, message } => write!(f, "field `{field}`: {message}"),
        }
    }
}

impl std::error::Error for Error {}

pub fn shape(field: &str, message: impl Into<String>) -> Error {
    Error::Shape {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// One member of an object or element of an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The member's name as decoded (escapes resolved); None in an array.
    pub key: Option<String>,
    /// Where the item starts: its key's opening quote, or its value.
    pub start: usize,
    /// The value's bytes, without surrounding whitespace.
    pub value: Range<usize>,
}

/// An object or array of the document, with its items in text order.
#[derive(Debug, Clone)]
pub struct Container {
    /// The byte index of its `{` or `[`.
    open: usize,
    items: Vec<Item>,
}

/// The span of `part`, which must be a slice of `text`.
fn span_in(text: &str, part: &str) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    debug_assert!(start + part.len() <= text.len(), "not a slice of the text");
    start..start + part.len()
}

fn skip_ws(text: &[u8], mut i: usize) -> usize {
    while text.get(i).is_some_and(|b| b" \t\n\r".contains(b)) {
        i += 1;
    }
    i
}

/// The members of an object, in order, duplicates kept.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// The whole document's span, once it is known to be valid JSON: the
/// value without the whitespace around it.
pub fn document(text: &str) -> Result<Range<usize>, Error> {
    let raw: &RawValue = serde_json::from_str(text).map_err(Error::Syntax)?;
    Ok(span_in(text, raw.get()))
}

/// The first byte of the value at `span`: `{`, `[`, `"`, `n`, ...
pub fn kind(text: &str, span: &Range<usize>) -> u8 {
    text.as_bytes().get(span.start).copied().unwrap_or(0)
}

/// Whether the value at `span` is `null`.
pub fn is_null(text: &str, span: &Range<usize>) -> bool {
    &text[span.clone()] == "null"
}

impl Container {
    /// The object whose value is at `span` (from [`document`] or an
    /// [`Item`]); `field` names it in errors.
    pub fn object(text: &str, span: Range<usize>, field: &str) -> Result<Container, Error> {
        if kind(text, &span) != b'{' {
            return Err(shape(field, "not an object"));
        }
        let Members(members) = serde_json::from_str(&text[span.clone()]).map_err(Error::Syntax)?;
        let bytes = text.as_bytes();
        let mut items = Vec::with_capacity(members.len());
        let mut at = span.start + 1;
        for (key, raw) in members {
            // between items: whitespace, and a comma after the first
            let mut start = skip_ws(bytes, at);
            if !items.is_empty() {
                start = skip_ws(bytes, start + 1);
            }
            let value = span_in(text, raw.get());
            at = value.end;
            items.push(Item {
                key: Some(key),
                start,
                value,
            });
        }
        Ok(Container {
            open: span.start,
            items,
        })
    }

    /// The array whose value is at `span`.
    pub fn array(text: &str, span: Range<usize>, field: &str) -> Result<Container, Error> {
        if kind(text, &span) != b'[' {
            return Err(shape(field, "not an array"));
        }
        let elements: Vec<&RawValue> =
            serde_json::from_str(&text[span.clone()]).map_err(Error::Syntax)?;
        let items = elements
            .into_iter()
            .map(|raw| {
                let value = span_in(text, raw.get());
                Item {
                    key: None,
                    start: value.start,
                    value,
                }
            })
            .collect();
        Ok(Container {
            open: span.start,
            items,
        })
    }

    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The members named `name` as Go's encoding/json matches a struct
    /// field (see the module comment).
    pub fn find(&self, name: &str) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i.key.as_deref().is_some_and(|k| same_field(k, name)))
            .collect()
    }

    /// The members whose name is exactly `name`, as a Go map reads them.
    pub fn find_exact(&self, name: &str) -> Vec<&Item> {
        self.items
            .iter()
            .filter(|i| i.key.as_deref() == Some(name))
            .collect()
    }

    /// The one member named `name` (Go struct-field matching), or none;
    /// more than one is an error naming `field`.
    pub fn member(&self, name: &str, field: &str) -> Result<Option<&Item>, Error> {
        one(self.find(name), field)
    }

    /// The one member named exactly `name` (a Go map's key), or none.
    pub fn key(&self, name: &str, field: &str) -> Result<Option<&Item>, Error> {
        one(self.find_exact(name), field)
    }

    /// Deletes the items for which `remove` says so and appends `append`
    /// after the last item that stays. New members are `(Some(key), value)`,
    /// new elements `(None, value)`, values as JSON text. They are
    /// separated the way the last two items are (a newline and indent in a
    /// pretty-printed file, nothing in a compact one), and the items that
    /// stay keep every byte.
    pub fn edit(
        &self,
        text: &str,
        remove: impl Fn(&Item) -> bool,
        append: &[(Option<&str>, String)],
        edits: &mut Edits,
    ) {
        let n = self.items.len();
        let removed: Vec<bool> = self.items.iter().map(&remove).collect();
        // each run of removed items goes with the comma before it, or the
        // one after it when the run starts the container
        let mut i = 0;
        while i < n {
            if !removed[i] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < n && removed[j + 1] {
                j += 1;
            }
            let range = if i > 0 {
                self.items[i - 1].value.end..self.items[j].value.end
            } else if j + 1 < n {
                self.items[i].start..self.items[j + 1].start
            } else {
                self.items[i].start..self.items[j].value.end
            };
            edits.replace(range, String::new());
            i = j + 1;
        }
        if append.is_empty() {
            return;
        }
        let sep = match n {
            0 => ",".to_owned(),
            1 => format!(",{}", &text[self.open + 1..self.items[0].start]),
            _ => text[self.items[n - 2].value.end..self.items[n - 1].start].to_owned(),
        };
        let colon = self
            .items
            .last()
            .and_then(|last| key_end(text, last).map(|e| &text[e..last.value.start]))
            .unwrap_or(":");
        let render = |(key, value): &(Option<&str>, String)| match key {
            Some(k) => format!("{}{colon}{value}", quote(k)),
            None => value.clone(),
        };
        let last_kept = self.items.iter().zip(&removed).rfind(|(_, r)| !**r);
        let (at, mut out) = match last_kept {
            Some((item, _)) => (item.value.end, String::new()),
            None => {
                let at = self.items.first().map_or(self.open + 1, |i| i.start);
                (at, render(&append[0]))
            }
        };
        let rest = if last_kept.is_some() {
            append
        } else {
            &append[1..]
        };
        for a in rest {
            out.push_str(&sep);
            out.push_str(&render(a));
        }
        edits.insert(at, out);
    }
}

fn one<'a>(found: Vec<&'a Item>, field: &str) -> Result<Option<&'a Item>, Error> {
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(shape(
            field,
            format!(
                "appears {} times (Go's JSON readers match names case-insensitively and merge them)",
                many.len()
            ),
        )),
    }
}

/// The end of a member's key: the byte after its closing quote.
fn key_end(text: &str, item: &Item) -> Option<usize> {
    item.key.as_ref()?;
    let bytes = text.as_bytes();
    let mut i = item.start + 1;
    while i < item.value.start {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Whether two JSON texts differ only in whitespace between tokens.
pub fn same_tokens(a: &str, b: &str) -> bool {
    fn tokens(s: &str) -> impl Iterator<Item = char> + '_ {
        let mut in_string = false;
        let mut escaped = false;
        s.chars().filter(move |&c| {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                true
            } else {
                in_string = c == '"';
                !c.is_ascii_whitespace()
            }
        })
    }
    tokens(a).eq(tokens(b))
}

/// A string as JSON text.
pub fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Go's case folding for field names, as far as it differs from ASCII:
/// every character whose simple fold is an ASCII letter.
fn fold(c: char) -> char {
    match c {
        '\u{212A}' => 'k', // KELVIN SIGN
        '\u{17F}' => 's',  // LATIN SMALL LETTER LONG S
        c => c.to_ascii_lowercase(),
    }
}

/// Whether Go's encoding/json would decode member `key` into a struct
/// field named `name` (an ASCII name, as every field here is).
pub fn same_field(key: &str, name: &str) -> bool {
    key.chars().map(fold).eq(name.chars().map(fold))
}

/// Byte-span edits of one text, applied together.
#[derive(Debug, Default)]
pub struct Edits {
    edits: Vec<(Range<usize>, String)>,
}

impl Edits {
    pub fn replace(&mut self, range: Range<usize>, with: String) {
        self.edits.push((range, with));
    }

    pub fn insert(&mut self, at: usize, text: String) {
        self.edits.push((at..at, text));
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The edited text. Edits never overlap (an insertion may sit where a
    /// deletion starts, and comes first).
    pub fn apply(mut self, text: &str) -> String {
        // stable: insertions at one point stay in the order they were made
        self.edits.sort_by_key(|(r, _)| (r.start, r.end));
        let mut out = String::with_capacity(text.len() + 256);
        let mut at = 0;
        for (range, with) in self.edits {
            debug_assert!(range.start >= at, "overlapping edits");
            let start = range.start.max(at);
            out.push_str(&text[at..start]);
            out.push_str(&with);
            at = range.end.max(at);
        }
        out.push_str(&text[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Container {
        Container::object(text, document(text).unwrap(), "").unwrap()
    }

    fn edited(text: &str, f: impl FnOnce(&Container, &mut Edits)) -> String {
        let c = root(text);
        let mut e = Edits::default();
        f(&c, &mut e);
        e.apply(text)
    }

    #[test]
    fn spans_are_the_values_bytes() {
        let text = " {\"a\" : -0 ,\n \"b\\u0022\":[1E2, {\"x\":12345678901234567890123}], \"a\":\"\\u00e9\"}\n";
        let c = root(text);
        let got: Vec<(Option<&str>, &str, &str)> = c
            .items()
            .iter()
            .map(|i| {
                (
                    i.key.as_deref(),
                    &text[i.start..i.start + 1],
                    &text[i.value.clone()],
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("a"), "\"", "-0"),
                (Some("b\""), "\"", "[1E2, {\"x\":12345678901234567890123}]"),
                (Some("a"), "\"", "\"\\u00e9\""),
            ]
        );
        let arr = Container::array(text, c.items()[1].value.clone(), "b").unwrap();
        let vals: Vec<&str> = arr.items().iter().map(|i| &text[i.value.clone()]).collect();
        assert_eq!(vals, ["1E2", "{\"x\":12345678901234567890123}"]);
    }

    #[test]
    fn appending_copies_the_siblings_layout() {
        assert_eq!(
            edited("{\n\t\"a\": -0,\n\t\"b\": 1E2\n}\n", |c, e| c.edit(
                "{\n\t\"a\": -0,\n\t\"b\": 1E2\n}\n",
                |_| false,
                &[(Some("k"), "[1]".into()), (Some("l"), "2".into())],
                e
            )),
            "{\n\t\"a\": -0,\n\t\"b\": 1E2,\n\t\"k\": [1],\n\t\"l\": 2\n}\n"
        );
        let one = "{ \"a\":1 }";
        assert_eq!(
            edited(one, |c, e| c.edit(
                one,
                |_| false,
                &[(Some("k"), "2".into())],
                e
            )),
            "{ \"a\":1, \"k\":2 }"
        );
        for empty in ["{}", "{ \n }"] {
            assert_eq!(
                edited(empty, |c, e| c.edit(
                    empty,
                    |_| false,
                    &[(Some("k"), "2".into()), (Some("é\""), "3".into())],
                    e
                )),
                format!("{{\"k\":2,\"é\\\"\":3{}", &empty[1..])
            );
        }
    }

    #[test]
    fn removing_takes_one_comma_and_keeps_the_rest() {
        let text = "[ 1 , 2 ,3,\n 4 ]";
        let c = Container::array(text, document(text).unwrap(), "").unwrap();
        let run = |drop: &[&str], add: &[&str]| {
            let mut e = Edits::default();
            let add: Vec<(Option<&str>, String)> =
                add.iter().map(|a| (None, a.to_string())).collect();
            c.edit(
                text,
                |i| drop.contains(&&text[i.value.clone()]),
                &add,
                &mut e,
            );
            e.apply(text)
        };
        assert_eq!(run(&["1"], &[]), "[ 2 ,3,\n 4 ]");
        assert_eq!(run(&["1", "2"], &[]), "[ 3,\n 4 ]");
        assert_eq!(run(&["2", "3"], &[]), "[ 1,\n 4 ]");
        assert_eq!(run(&["4"], &["5"]), "[ 1 , 2 ,3,\n 5 ]");
        assert_eq!(run(&["1", "3"], &["5"]), "[ 2,\n 4,\n 5 ]");
        assert_eq!(run(&["1", "2", "3", "4"], &[]), "[  ]");
        assert_eq!(run(&["1", "2", "3", "4"], &["5", "6"]), "[ 5,\n 6 ]");
    }

    #[test]
    fn names_match_as_go_matches_struct_fields() {
        assert!(same_field("hooks", "hooks"));
        assert!(same_field("HOOKS", "hooks"));
        assert!(same_field("hoo\u{212A}\u{17F}", "hooks"));
        assert!(!same_field("hook", "hooks"));
        assert!(!same_field("hooks ", "hooks"));
        let text = r#"{"Hooks":1,"x":2,"hoo\u006bs":3,"runtimes":4}"#;
        let c = root(text);
        assert_eq!(c.find("hooks").len(), 2);
        assert_eq!(
            c.member("hooks", "hooks").unwrap_err().to_string(),
            "field `hooks`: appears 2 times (Go's JSON readers match names case-insensitively and merge them)"
        );
        assert_eq!(c.find_exact("Runtimes").len(), 0);
        assert_eq!(c.member("x", "x").unwrap().unwrap().value, 15..16);
    }

    #[test]
    fn whitespace_between_tokens_is_all_same_tokens_ignores() {
        assert!(same_tokens("{\n\t\"a\": [1, 2]\n}\n", "{\"a\":[1,2]}"));
        assert!(!same_tokens("{\"a b\":1}", "{\"ab\":1}"));
        assert!(!same_tokens("{\"a\\\" \":1}", "{\"a\\\"\":1}"));
        assert!(!same_tokens("{\"a\":1E2}", "{\"a\":100}"));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = document("{\"a\": 1,}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "not valid JSON: key must be a string at line 1 column 9"
        );
        let text = "[1]";
        assert_eq!(
            Container::object(text, document(text).unwrap(), "")
                .unwrap_err()
                .to_string(),
            "not an object"
        );
        assert_eq!(
            Container::array("{\"h\":{}}", 5..7, "h.x")
                .unwrap_err()
                .to_string(),
            "field `h.x`: not an array"
        );
    }
}
