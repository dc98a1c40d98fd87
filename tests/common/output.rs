//! The text of a finished command, as tests compare and print it: lossy,
//! so output that is not UTF-8 still shows in a failure message.

use std::process::Output;

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout then stderr, for a failure message that shows both.
pub fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}
