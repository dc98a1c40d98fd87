//! A container's id, checked once so that it is safe as one path component
//! everywhere it is used (pin directories, meta and log files). A leaf:
//! config/ formats paths from it, hook/, bpf/ and report/ pass it around.

/// A container id that is safe to use as one path component (see
/// [`ContainerId::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("container id {id:?}: {reason}")]
pub struct BadId {
    pub id: String,
    pub reason: &'static str,
}

impl ContainerId {
    /// The longest id accepted: it must fit in one file name with a suffix.
    pub const MAX_LEN: usize = 200;

    /// Accepts what runc accepts (`[A-Za-z0-9_+.-]`, see runc's
    /// `libcontainer/utils.go` id check), which makes `/`, `..` and NUL
    /// impossible, and refuses ids that would be hidden or special files.
    pub fn parse(id: &str) -> Result<ContainerId, BadId> {
        let bad = |reason| BadId {
            id: id.to_owned(),
            reason,
        };
        if id.is_empty() {
            return Err(bad("is empty"));
        }
        if id.len() > Self::MAX_LEN {
            return Err(bad("is longer than 200 bytes"));
        }
        if id.contains('/') {
            return Err(bad("contains '/'"));
        }
        if id.contains("..") {
            return Err(bad("contains '..'"));
        }
        if id.starts_with('.') {
            return Err(bad("starts with '.'"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+.-".contains(&b))
        {
            return Err(bad("has a character outside [A-Za-z0-9_+.-]"));
        }
        Ok(ContainerId(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ContainerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_runc_accepts_are_accepted() {
        for id in [
            "a",
            "ctr-1",
            "4f1c0b6c2d8e9a7b",
            "web_1.v2+x",
            &"x".repeat(200),
        ] {
            assert_eq!(ContainerId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn ids_that_could_escape_a_directory_are_refused() {
        let cases = [
            ("", "is empty"),
            ("a/b", "contains '/'"),
            ("/etc", "contains '/'"),
            ("..", "contains '..'"),
            ("a..b", "contains '..'"),
            (".hidden", "starts with '.'"),
            ("a\0b", "has a character outside [A-Za-z0-9_+.-]"),
            ("a b", "has a character outside [A-Za-z0-9_+.-]"),
            ("ä", "has a character outside [A-Za-z0-9_+.-]"),
        ];
        for (id, reason) in cases {
            assert_eq!(ContainerId::parse(id).unwrap_err().reason, reason, "{id:?}");
        }
        assert_eq!(
            ContainerId::parse(&"x".repeat(201)).unwrap_err().reason,
            "is longer than 200 bytes"
        );
    }
}
