//! How runc reads its argv, so that `ctraudit-runc` injects the hooks only
//! for a call runc will carry out: a `create`, `run` or `restore` with no
//! help flag, flags runc accepts and exactly one valid container id.
//! `run -h`, `create --help` or `run --bogus-flag x` only print runc's help
//! or error, and their config.json must stay untouched.
//!
//! Nothing here changes argv: it is read, not parsed into something else
//! (clap would refuse or rewrite what it does not know). What is modelled
//! is runc 1.1 to 1.4, built with urfave/cli v1.22.2 or later (upstream
//! runc 1.2 and later; Debian's 1.1.5 too): Go's `flag` package for the
//! global flags up to the subcommand, then urfave's `reorderArgs`, which
//! moves the subcommand's known flags (with a value each may have) before
//! the other arguments, then `flag` again, then runc's own checks
//! (`checkArgs(context, 1, exactArgs)`, libcontainer's `validateID`,
//! restore's `--empty-ns`). The flag tables are the union of those
//! versions: a flag only some of them know (`--pidfd-socket`, 1.2) counts
//! as known.
//!
//! A flag none of them knows might be a newer runc's: the call is
//! [`Action::Unknown`], and the wrapper lets `on_error` decide.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Bool,
    Str,
    Int,
    List,
}

struct Flag {
    names: &'static [&'static str],
    kind: Kind,
}

const fn flag(names: &'static [&'static str], kind: Kind) -> Flag {
    Flag { names, kind }
}

use Kind::{Bool, Int, List, Str};

/// The wrapper's own flag, for Docker's `runtimeArgs`; never passed on.
pub const OWN_CONFIG_FLAG: &str = "ctraudit-config";

/// runc's global flags (`main.go`; `criu` is gone in 1.4), urfave's
/// `help` and `version`, and the wrapper's own flag.
const GLOBAL: &[Flag] = &[
    flag(&["debug"], Bool),
    flag(&["log"], Str),
    flag(&["log-format"], Str),
    flag(&["root"], Str),
    flag(&["criu"], Str),
    flag(&["systemd-cgroup"], Bool),
    flag(&["rootless"], Str),
    flag(&["help", "h"], Bool),
    flag(&["version", "v"], Bool),
    flag(&[OWN_CONFIG_FLAG], Str),
];

const HELP: Flag = flag(&["help", "h"], Bool);

/// `create.go` (`pidfd-socket` from 1.2)
const CREATE: &[Flag] = &[
    flag(&["bundle", "b"], Str),
    flag(&["console-socket"], Str),
    flag(&["pidfd-socket"], Str),
    flag(&["pid-file"], Str),
    flag(&["no-pivot"], Bool),
    flag(&["no-new-keyring"], Bool),
    flag(&["preserve-fds"], Int),
    HELP,
];

/// `run.go`
const RUN: &[Flag] = &[
    flag(&["bundle", "b"], Str),
    flag(&["console-socket"], Str),
    flag(&["pidfd-socket"], Str),
    flag(&["detach", "d"], Bool),
    flag(&["keep"], Bool),
    flag(&["pid-file"], Str),
    flag(&["no-subreaper"], Bool),
    flag(&["no-pivot"], Bool),
    flag(&["no-new-keyring"], Bool),
    flag(&["preserve-fds"], Int),
    HELP,
];

/// `restore.go`
const RESTORE: &[Flag] = &[
    flag(&["console-socket"], Str),
    flag(&["image-path"], Str),
    flag(&["work-path"], Str),
    flag(&["tcp-established"], Bool),
    flag(&["ext-unix-sk"], Bool),
    flag(&["shell-job"], Bool),
    flag(&["file-locks"], Bool),
    flag(&["manage-cgroups-mode"], Str),
    flag(&["bundle", "b"], Str),
    flag(&["detach", "d"], Bool),
    flag(&["pid-file"], Str),
    flag(&["no-subreaper"], Bool),
    flag(&["no-pivot"], Bool),
    flag(&["empty-ns"], List),
    flag(&["auto-dedup"], Bool),
    flag(&["lazy-pages"], Bool),
    flag(&["lsm-profile"], Str),
    flag(&["lsm-mount-context"], Str),
    HELP,
];

/// The subcommands whose container runs the prestart/createRuntime hooks
/// (`restore`: `docker start --checkpoint`).
const STARTS: [(&str, &[Flag]); 3] = [("create", CREATE), ("run", RUN), ("restore", RESTORE)];

/// What the call is, for the wrapper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// runc will create a container from this bundle.
    Start {
        subcommand: &'static str,
        bundle: PathBuf,
    },
    /// A container start, as far as can be told, with a flag no runc this
    /// code knows accepts (a newer runc's, or a mistake runc will refuse).
    Unknown {
        subcommand: &'static str,
        flag: String,
    },
    /// Anything else: other subcommands, help, version, and calls runc
    /// refuses (it prints its usage or error and creates nothing).
    Other,
}

/// What the wrapper learned from argv.
#[derive(Debug, PartialEq, Eq)]
pub struct Call {
    /// argv[1..] as runc must see it: as given, minus `--ctraudit-config`.
    pub args: Vec<OsString>,
    pub action: Action,
    /// `--log`, for reporting in runc's log.
    pub log: Option<PathBuf>,
    pub log_json: bool,
    /// `--ctraudit-config`.
    pub config: Option<PathBuf>,
}

/// Why Go's flag parsing stopped short.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// `flag provided but not defined`
    Unknown(String),
    /// Any other usage error: bad syntax, a missing or invalid value.
    Usage,
}

/// One flag as given.
struct Given<'a> {
    flag: usize,
    /// which of the flag's names was used
    name: usize,
    value: &'a [u8],
    /// the arguments it took (the flag, and its value when separate)
    args: std::ops::Range<usize>,
}

struct Parsed<'a> {
    given: Vec<Given<'a>>,
    /// the index of the first argument after the flags (and a `--`)
    rest: usize,
}

impl<'a> Parsed<'a> {
    fn last(&self, flags: &[Flag], name: &str) -> Option<&'a [u8]> {
        let i = flags.iter().position(|f| f.names.contains(&name))?;
        self.given
            .iter()
            .rev()
            .find(|g| g.flag == i)
            .map(|g| g.value)
    }

    fn all(&self, flags: &[Flag], name: &str) -> Vec<&'a [u8]> {
        let i = flags.iter().position(|f| f.names.contains(&name));
        self.given
            .iter()
            .filter(|g| Some(g.flag) == i)
            .map(|g| g.value)
            .collect()
    }

    fn is_true(&self, flags: &[Flag], name: &str) -> bool {
        self.last(flags, name).and_then(parse_bool) == Some(true)
    }

    /// urfave's `normalizeFlags`: "Cannot use two forms of the same flag".
    fn two_forms(&self) -> bool {
        self.given.iter().any(|a| {
            self.given
                .iter()
                .any(|b| a.flag == b.flag && a.name != b.name)
        })
    }
}

fn lookup(flags: &[Flag], name: &[u8]) -> Option<(usize, usize)> {
    flags.iter().enumerate().find_map(|(i, f)| {
        f.names
            .iter()
            .position(|n| n.as_bytes() == name)
            .map(|n| (i, n))
    })
}

/// A flag's name, and its value when given as `-name=value`.
type FlagArg<'a> = (&'a [u8], Option<&'a [u8]>);

/// A flag's name and inline value, as Go's `FlagSet.parseOne` splits it;
/// None for what is not a flag, Err for bad syntax.
fn split_flag(s: &[u8]) -> Option<Result<FlagArg<'_>, Stop>> {
    if s.len() < 2 || s[0] != b'-' {
        return None;
    }
    let name = if s[1] == b'-' { &s[2..] } else { &s[1..] };
    if name.is_empty() || name[0] == b'-' || name[0] == b'=' {
        return Some(Err(Stop::Usage));
    }
    Some(Ok(match name[1..].iter().position(|&b| b == b'=') {
        Some(eq) => (&name[..eq + 1], Some(&name[eq + 2..])),
        None => (name, None),
    }))
}

/// Go's `flag.FlagSet.Parse` over `args`: flags until the first
/// non-flag or `--` (consumed); a flag that takes a value takes the next
/// argument whatever it looks like.
fn go_parse<'a>(flags: &[Flag], args: &[&'a [u8]]) -> Result<Parsed<'a>, Stop> {
    let mut given = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let s = args[i];
        if s == b"--" {
            i += 1;
            break;
        }
        let Some(split) = split_flag(s) else { break };
        let (name, inline) = split?;
        let Some((flag, which)) = lookup(flags, name) else {
            return Err(Stop::Unknown(String::from_utf8_lossy(name).into_owned()));
        };
        let start = i;
        i += 1;
        let value = match (flags[flag].kind, inline) {
            (Bool, v) => {
                let v = v.unwrap_or(b"true");
                parse_bool(v).ok_or(Stop::Usage)?;
                v
            }
            (kind, v) => {
                let v = match v {
                    Some(v) => v,
                    None => {
                        let v = args.get(i).ok_or(Stop::Usage)?;
                        i += 1;
                        v
                    }
                };
                if kind == Int {
                    parse_int(v).ok_or(Stop::Usage)?;
                }
                v
            }
        };
        given.push(Given {
            flag,
            name: which,
            value,
            args: start..i,
        });
    }
    Ok(Parsed { given, rest: i })
}

/// urfave's `argIsFlag`: one of the command's own flags, by name.
fn arg_is_flag(flags: &[Flag], arg: &[u8]) -> bool {
    if arg == b"-" || arg == b"--" || !arg.starts_with(b"-") {
        return false;
    }
    let mut a = arg.strip_prefix(b"--").unwrap_or(arg);
    a = a.strip_prefix(b"-").unwrap_or(a);
    let name = a.split(|&b| b == b'=').next().unwrap_or(a);
    lookup(flags, name).is_some()
}

/// urfave's `reorderArgs` (v1.22.2 and later): the command's known flags,
/// each with the argument after it unless that is a flag too or the flag
/// has `=`, go first; a `--` and everything after it go last.
fn reorder<'a>(flags: &[Flag], args: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut moved = Vec::new();
    let mut rest = Vec::new();
    let mut may_be_value = false;
    for (i, &arg) in args.iter().enumerate() {
        if may_be_value && !arg_is_flag(flags, arg) {
            may_be_value = false;
            moved.push(arg);
        } else if arg == b"--" {
            rest.insert(0, arg);
            rest.extend_from_slice(&args[i + 1..]);
            break;
        } else if arg_is_flag(flags, arg) {
            moved.push(arg);
            may_be_value = !arg.contains(&b'=');
        } else {
            rest.push(arg);
        }
    }
    moved.extend(rest);
    moved
}

/// The first flag no runc knows, before a `--`, skipping the values of
/// known flags: what a newer runc could accept where this table cannot.
fn first_unknown(flags: &[Flag], args: &[&[u8]]) -> Option<String> {
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        i += 1;
        if arg == b"--" {
            return None;
        }
        let Some(Ok((name, inline))) = split_flag(arg) else {
            continue;
        };
        match lookup(flags, name) {
            // a global flag after the subcommand: every runc refuses it
            None if lookup(GLOBAL, name).is_some() => return None,
            None => return Some(String::from_utf8_lossy(name).into_owned()),
            Some((f, _)) if flags[f].kind != Bool && inline.is_none() => i += 1,
            Some(_) => {}
        }
    }
    None
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &[u8]) -> Option<bool> {
    match v {
        b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True" => Some(true),
        b"0" | b"f" | b"F" | b"FALSE" | b"false" | b"False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(v, 0, 64)`, as `flag.Int` reads a value: a sign,
/// `0x`/`0o`/`0b` or a leading `0` (octal), `_` between digits.
fn parse_int(v: &[u8]) -> Option<i64> {
    let (neg, s) = match v.first() {
        Some(b'+') => (false, &v[1..]),
        Some(b'-') => (true, &v[1..]),
        _ => (false, v),
    };
    if s.is_empty() {
        return None;
    }
    let lower = |b: u8| b | 0x20;
    let (base, digits): (u64, &[u8]) = match s {
        [b'0', p, ..] if s.len() >= 3 && lower(*p) == b'b' => (2, &s[2..]),
        [b'0', p, ..] if s.len() >= 3 && lower(*p) == b'o' => (8, &s[2..]),
        [b'0', p, ..] if s.len() >= 3 && lower(*p) == b'x' => (16, &s[2..]),
        [b'0', ..] => (8, &s[1..]),
        _ => (10, s),
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for &c in digits {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' | b'A'..=b'Z' => lower(c) - b'a' + 10,
            _ => return None,
        };
        if u64::from(d) >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(u64::from(d))?;
    }
    if underscores && !underscores_ok(s) {
        return None;
    }
    let limit = 1u64 << 63;
    match neg {
        false if n < limit => Some(n as i64),
        true if n <= limit => Some((n as i64).wrapping_neg()),
        _ => None,
    }
}

/// Go's `strconv.underscoreOK`: each `_` between two digits, or after a
/// base prefix and before a digit.
fn underscores_ok(s: &[u8]) -> bool {
    let lower = |b: u8| b | 0x20;
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(lower(s[1]), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = lower(s[1]) == b'x';
    }
    for &c in &s[i..] {
        if c.is_ascii_digit() || hex && (b'a'..=b'f').contains(&lower(c)) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}

/// libcontainer's `validateID`: `[A-Za-z0-9_+.-]+`, and not `.` or `..`.
fn valid_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"_+-.".contains(&c))
        && id != b"."
        && id != b".."
}

fn path(b: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(b))
}

/// Reads runc's argv (without argv[0]).
pub fn read(argv: Vec<OsString>) -> Call {
    let bytes: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let starts = |from: usize| {
        bytes[from.min(bytes.len())..]
            .iter()
            .find_map(|a| STARTS.iter().find(|(s, _)| s.as_bytes() == *a))
            .map(|(s, _)| *s)
    };
    let mut call = Call {
        args: Vec::new(),
        action: Action::Other,
        log: None,
        log_json: false,
        config: None,
    };
    let global = match go_parse(GLOBAL, &bytes) {
        Ok(g) => g,
        Err(stop) => {
            // which argument is the subcommand depends on the flag
            if let (Stop::Unknown(flag), Some(subcommand)) = (stop, starts(0)) {
                call.action = Action::Unknown { subcommand, flag };
            }
            call.args = argv;
            return call;
        }
    };
    let own: Vec<&Given> = global
        .given
        .iter()
        .filter(|g| GLOBAL[g.flag].names == [OWN_CONFIG_FLAG])
        .collect();
    call.config = own.last().map(|g| path(g.value));
    call.log = global
        .last(GLOBAL, "log")
        .filter(|l| !l.is_empty())
        .map(path);
    let format = global.last(GLOBAL, "log-format");
    call.log_json = format == Some(b"json");
    call.action = (|| {
        if global.two_forms()
            || global.is_true(GLOBAL, "help")
            || global.is_true(GLOBAL, "version")
            // runc's configLogrus refuses other formats before any command
            || !matches!(format, None | Some(b"" | b"text" | b"json"))
        {
            return Action::Other;
        }
        let Some(&sub) = bytes.get(global.rest) else {
            return Action::Other;
        };
        let Some(&(subcommand, flags)) = STARTS.iter().find(|(s, _)| s.as_bytes() == sub) else {
            return Action::Other;
        };
        start(subcommand, flags, &bytes[global.rest + 1..])
    })();
    let taken: Vec<std::ops::Range<usize>> = own.iter().map(|g| g.args.clone()).collect();
    call.args = argv
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !taken.iter().any(|r| r.contains(i)))
        .map(|(_, a)| a)
        .collect();
    call
}

/// The verdict on a `create`, `run` or `restore` with these arguments.
fn start(subcommand: &'static str, flags: &[Flag], args: &[&[u8]]) -> Action {
    if let Some(flag) = first_unknown(flags, args) {
        return Action::Unknown { subcommand, flag };
    }
    let args = reorder(flags, args);
    let parsed = match go_parse(flags, &args) {
        Ok(p) => p,
        Err(Stop::Unknown(flag)) if lookup(GLOBAL, flag.as_bytes()).is_none() => {
            return Action::Unknown { subcommand, flag }
        }
        Err(_) => return Action::Other,
    };
    let ids = &args[parsed.rest..];
    let refused = parsed.two_forms()
        || parsed.is_true(flags, "help")
        || ids.len() != 1
        || !valid_id(ids[0])
        || parsed
            .all(flags, "empty-ns")
            .iter()
            .any(|ns| *ns != b"network");
    if refused {
        return Action::Other;
    }
    let bundle = match parsed.last(flags, "bundle") {
        Some(b) if !b.is_empty() => path(b),
        _ => PathBuf::from("."),
    };
    Action::Start { subcommand, bundle }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn argv(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    fn action(a: &[&str]) -> Action {
        read(argv(a)).action
    }

    fn start(subcommand: &'static str, bundle: &str) -> Action {
        Action::Start {
            subcommand,
            bundle: bundle.into(),
        }
    }

    #[test]
    fn docker_create_call() {
        let a = argv(&[
            "--root",
            "/run/docker/runtime-runc/moby",
            "--log",
            "/run/x/log.json",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "create",
            "--bundle",
            "/run/b",
            "--pid-file",
            "/run/b/init.pid",
            "abc",
        ]);
        let c = read(a.clone());
        assert_eq!(
            c,
            Call {
                args: a,
                action: start("create", "/run/b"),
                log: Some("/run/x/log.json".into()),
                log_json: true,
                config: None,
            },
            "passed on unchanged"
        );
    }

    #[test]
    fn containerd_calls() {
        // go-runc's create and restore
        assert_eq!(
            action(&[
                "--root",
                "/run/containerd/runc/k8s.io",
                "--log",
                "/x/log.json",
                "--log-format",
                "json",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/b/init.pid",
                "--console-socket",
                "/t/pty.sock",
                "--no-pivot",
                "--no-new-keyring",
                "--preserve-fds",
                "2",
                "id-1",
            ]),
            start("create", "/b")
        );
        assert_eq!(
            action(&[
                "restore",
                "--image-path",
                "/img",
                "--work-path",
                "/w",
                "--tcp-established",
                "--manage-cgroups-mode",
                "soft",
                "--empty-ns",
                "network",
                "--bundle",
                "/b",
                "--detach",
                "--pid-file",
                "/p",
                "--no-pivot",
                "id-1",
            ]),
            start("restore", "/b")
        );
    }

    #[test]
    fn flag_spellings() {
        assert_eq!(
            read(argv(&["-root=/r", "--log=/l", "run", "-b=/b1", "id"])),
            Call {
                args: argv(&["-root=/r", "--log=/l", "run", "-b=/b1", "id"]),
                action: start("run", "/b1"),
                log: Some("/l".into()),
                log_json: false,
                config: None,
            }
        );
        assert_eq!(
            action(&["run", "-b", "/b2", "--detach", "id"]),
            start("run", "/b2")
        );
        assert_eq!(action(&["create", "id"]), start("create", "."));
        assert_eq!(
            action(&["create", "-bundle", "", "id"]),
            start("create", ".")
        );
        // urfave moves flags given after the id before it
        assert_eq!(
            action(&["run", "id", "-b", "/b3", "-d"]),
            start("run", "/b3")
        );
        // ... but a bool flag takes the id along as its "value", and the
        // flag after it stays behind the id: runc refuses that
        assert_eq!(action(&["run", "-d", "id", "--keep"]), Action::Other);
        // a value that looks like a subcommand is still the flag's value
        let c = read(argv(&["--root", "create", "state", "id"]));
        assert_eq!(c.action, Action::Other);
        assert_eq!(c.args, argv(&["--root", "create", "state", "id"]));
        // a value that looks like a flag too
        assert_eq!(
            action(&["create", "--pid-file", "--no-pivot", "-b", "--", "id"]),
            start("create", "--")
        );
        assert_eq!(
            action(&["create", "--no-pivot=false", "id"]),
            start("create", ".")
        );
        assert_eq!(
            action(&["create", "--help=false", "id"]),
            start("create", ".")
        );
        assert_eq!(action(&["--debug", "--", "run", "id"]), start("run", "."));
    }

    #[test]
    fn help_version_and_refused_calls_are_not_starts() {
        for a in [
            &["run", "-h"][..],
            &["run", "-h", "id"],
            &["create", "--help"],
            &["create", "id", "--help"],
            &["restore", "-h"],
            &["restore", "-help=1", "id"],
            &["--help", "create", "id"],
            &["-v", "run", "id"],
            &["create"],
            &["create", "a", "b"],
            &["run", "--", "-b", "x"],
            &["create", "id", "--", "x"],
            &["create", ""],
            &["create", ".."],
            &["create", "a/b"],
            &["create", "-b"],
            &["create", "--preserve-fds", "x", "id"],
            &["create", "--preserve-fds=1e3", "id"],
            &["create", "--no-pivot=yes", "id"],
            &["create", "-b", "x", "--bundle", "y", "id"],
            &["create", "---b", "x", "id"],
            &["restore", "--empty-ns", "pid", "id"],
            &["--log-format", "xml", "create", "id"],
            &["--root"],
            &["state", "id"],
            &["delete", "-f", "id"],
            &["create", "--root", "/r", "id"],
            &[],
        ] {
            assert_eq!(action(a), Action::Other, "{a:?}");
        }
    }

    #[test]
    fn flags_no_runc_knows_are_told_apart() {
        assert_eq!(
            action(&["run", "--bogus-flag", "x"]),
            Action::Unknown {
                subcommand: "run",
                flag: "bogus-flag".into()
            }
        );
        assert_eq!(
            action(&["create", "id", "--bogus=1"]),
            Action::Unknown {
                subcommand: "create",
                flag: "bogus".into()
            }
        );
        assert_eq!(
            action(&["--bogus", "x", "create", "id"]),
            Action::Unknown {
                subcommand: "create",
                flag: "bogus".into()
            }
        );
        // a known flag's value, or after "--", is not a flag
        assert_eq!(
            action(&["create", "--pid-file", "-x", "id"]),
            start("create", ".")
        );
        assert_eq!(action(&["--bogus", "state", "id"]), Action::Other);
        assert_eq!(action(&["state", "--bogus", "id"]), Action::Other);
    }

    #[test]
    fn own_flag_is_taken_out_and_nothing_else() {
        let c = read(argv(&[
            "--ctraudit-config=/etc/x.toml",
            "--root",
            "/r",
            "list",
        ]));
        assert_eq!(c.config, Some("/etc/x.toml".into()));
        assert_eq!(c.args, argv(&["--root", "/r", "list"]));
        let c = read(argv(&["--ctraudit-config", "/y.toml", "--version"]));
        assert_eq!(c.config, Some("/y.toml".into()));
        assert_eq!(c.args, argv(&["--version"]));
        assert_eq!(c.action, Action::Other);
        // a subcommand's argument of that name is runc's
        let c = read(argv(&["run", "--ctraudit-config=/z", "id"]));
        assert_eq!(c.config, None);
        assert_eq!(c.args, argv(&["run", "--ctraudit-config=/z", "id"]));
    }

    #[test]
    fn non_utf8_arguments_pass_through() {
        let weird = OsString::from_vec(vec![b'i', 0xff, b'd']);
        let c = read(vec![OsString::from("delete"), weird.clone()]);
        assert_eq!(c.args, vec![OsString::from("delete"), weird.clone()]);
        let c = read(vec![OsString::from("create"), weird]);
        assert_eq!(c.action, Action::Other, "not a valid id");
    }

    #[test]
    fn ints_as_go_reads_them() {
        for (s, v) in [
            ("3", Some(3)),
            ("+3", Some(3)),
            ("-3", Some(-3)),
            ("0", Some(0)),
            ("0x1f", Some(31)),
            ("0X1F", Some(31)),
            ("0o17", Some(15)),
            ("017", Some(15)),
            ("0b101", Some(5)),
            ("1_000", Some(1000)),
            ("0x_1", Some(1)),
            ("0_7", Some(7)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("_1", None),
            ("1__0", None),
            ("1_", None),
            ("08", None),
            ("0x", None),
            ("", None),
            ("-", None),
            ("1e3", None),
            (" 1", None),
        ] {
            assert_eq!(parse_int(s.as_bytes()), v, "{s:?}");
        }
    }

    /// Any argv, made of runc's own words and junk: reading it never
    /// panics, hands runc every argument but `--ctraudit-config` (and its
    /// value) unchanged and in order, and says Start only with a bundle.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn word() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("create".to_owned()),
                Just("run".to_owned()),
                Just("restore".to_owned()),
                Just("delete".to_owned()),
                Just("-b".to_owned()),
                Just("--bundle".to_owned()),
                Just("--root".to_owned()),
                Just("--log".to_owned()),
                Just("--log-format".to_owned()),
                Just("json".to_owned()),
                Just("-d".to_owned()),
                Just("--detach".to_owned()),
                Just("-h".to_owned()),
                Just("--help".to_owned()),
                Just("--pid-file".to_owned()),
                Just("--ctraudit-config".to_owned()),
                Just("--".to_owned()),
                Just("/b".to_owned()),
                Just("c1".to_owned()),
                "-{0,2}[a-z=/.]{0,8}",
            ]
        }

        proptest! {
            #[test]
            fn any_argv_is_read_without_panic_and_passed_on_intact(
                words in prop::collection::vec(word(), 0..10)
            ) {
                let argv: Vec<OsString> = words.iter().map(OsString::from).collect();
                let call = read(argv.clone());
                // what runc gets is argv minus our own flag, in order
                let mut i = 0;
                for a in &call.args {
                    while i < argv.len() && &argv[i] != a {
                        i += 1;
                    }
                    prop_assert!(i < argv.len(), "{:?} not from {:?}", a, argv);
                    i += 1;
                }
                if !words.iter().any(|w| w.starts_with("--ctraudit-config")) {
                    prop_assert_eq!(&call.args, &argv);
                }
                if let Action::Start { bundle, .. } = &call.action {
                    prop_assert!(!bundle.as_os_str().is_empty());
                }
            }
        }
    }
}
