//! The OCI/Docker seccomp profile format, typed. It knows every field of
//! Docker's profiles (moby's `Seccomp`, `Syscall` and `Filter`, which
//! extend the runtime-spec's `LinuxSeccomp`); anything else, and any value
//! that is not one of the format's, is an error naming the field, so a
//! typo never turns silently into a rule that refuses or allows.

use std::collections::BTreeSet;

use oci_spec::runtime::{Arch, LinuxSeccompAction};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::SeccompError;

/// EPERM: what `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` return when the
/// profile names no errno (runc's `getAction`).
pub const EPERM: u32 = 1;

/// Makes a string enum of the format: its JSON names, and the one-line
/// error for any other string.
macro_rules! names {
    ($(#[$doc:meta])* $ty:ident, $what:literal, { $($v:ident = $s:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $ty { $($v,)* }

        impl $ty {
            pub fn name(self) -> &'static str {
                match self { $($ty::$v => $s,)* }
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                match s.as_str() {
                    $($s => Ok($ty::$v),)*
                    _ => Err(de::Error::custom(format!(concat!("unknown ", $what, " `{}`"), s))),
                }
            }
        }
    };
}

/// What a rule, or the default, does with a call: the runtime spec's own
/// type (oci-spec's `LinuxSeccompAction`), with the order and hash that
/// rule sets need and the one-line error for a name the spec does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action(pub LinuxSeccompAction);

/// The actions by their names in the profile format, in a fixed order.
const ACTIONS: &[(LinuxSeccompAction, &str)] = &[
    (LinuxSeccompAction::ScmpActAllow, "SCMP_ACT_ALLOW"),
    (LinuxSeccompAction::ScmpActErrno, "SCMP_ACT_ERRNO"),
    (LinuxSeccompAction::ScmpActKill, "SCMP_ACT_KILL"),
    (
        LinuxSeccompAction::ScmpActKillProcess,
        "SCMP_ACT_KILL_PROCESS",
    ),
    (
        LinuxSeccompAction::ScmpActKillThread,
        "SCMP_ACT_KILL_THREAD",
    ),
    (LinuxSeccompAction::ScmpActLog, "SCMP_ACT_LOG"),
    (LinuxSeccompAction::ScmpActNotify, "SCMP_ACT_NOTIFY"),
    (LinuxSeccompAction::ScmpActTrace, "SCMP_ACT_TRACE"),
    (LinuxSeccompAction::ScmpActTrap, "SCMP_ACT_TRAP"),
];

#[allow(non_upper_case_globals)]
impl Action {
    pub const Allow: Action = Action(LinuxSeccompAction::ScmpActAllow);
    pub const Errno: Action = Action(LinuxSeccompAction::ScmpActErrno);
    pub const Kill: Action = Action(LinuxSeccompAction::ScmpActKill);
    pub const KillProcess: Action = Action(LinuxSeccompAction::ScmpActKillProcess);
    pub const KillThread: Action = Action(LinuxSeccompAction::ScmpActKillThread);
    pub const Log: Action = Action(LinuxSeccompAction::ScmpActLog);
    pub const Notify: Action = Action(LinuxSeccompAction::ScmpActNotify);
    pub const Trace: Action = Action(LinuxSeccompAction::ScmpActTrace);
    pub const Trap: Action = Action(LinuxSeccompAction::ScmpActTrap);

    fn index(self) -> usize {
        ACTIONS
            .iter()
            .position(|(a, _)| *a == self.0)
            .unwrap_or(ACTIONS.len())
    }

    pub fn name(self) -> &'static str {
        ACTIONS
            .get(self.index())
            .map_or("SCMP_ACT_UNKNOWN", |(_, n)| n)
    }
}

impl PartialOrd for Action {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Action {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.index().cmp(&other.index())
    }
}

impl std::hash::Hash for Action {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.index().hash(h)
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ACTIONS
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(a, _)| Action(*a))
            .ok_or_else(|| de::Error::custom(format!("unknown action `{s}`")))
    }
}

names!(
    /// How an argument is compared. `SCMP_CMP_MASKED_EQ` is
    /// `(arg & value) == valueTwo`.
    Op, "operator", {
        Ne = "SCMP_CMP_NE",
        Lt = "SCMP_CMP_LT",
        Le = "SCMP_CMP_LE",
        Eq = "SCMP_CMP_EQ",
        Ge = "SCMP_CMP_GE",
        Gt = "SCMP_CMP_GT",
        MaskedEq = "SCMP_CMP_MASKED_EQ",
    }
);

impl Action {
    /// Whether the call runs (`SCMP_ACT_LOG` runs it and logs it).
    pub fn lets_run(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }

    /// Whether the action returns an errno to the caller.
    fn returns(self) -> bool {
        matches!(self, Action::Errno | Action::Trace)
    }

    /// The errno the action returns, with runc's default made explicit, so
    /// `SCMP_ACT_ERRNO` and `SCMP_ACT_ERRNO` with `errnoRet` 1 compare equal.
    pub fn errno(self, errno_ret: Option<u32>) -> Option<u32> {
        self.returns().then(|| errno_ret.unwrap_or(EPERM))
    }

    /// "SCMP_ACT_ERRNO (errno 38)", for messages.
    pub fn describe(self, errno_ret: Option<u32>) -> String {
        match self.errno(errno_ret) {
            Some(e) => format!("{} (errno {e})", self.name()),
            None => self.name().to_owned(),
        }
    }
}

/// An architecture's libseccomp name (`SCMP_ARCH_X86_64`), as the
/// runtime-spec's `Arch` writes it.
pub fn arch_name(a: Arch) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// An architecture as a profile names it: the runtime-spec's `Arch`, with
/// a one-line error for any other name. `SCMP_ARCH_NATIVE` is libseccomp's
/// "whatever this is", not an architecture a profile lists.
struct ArchField(Arch);

impl<'de> Deserialize<'de> for ArchField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match Arch::deserialize(de::value::StrDeserializer::<D::Error>::new(&s)) {
            Ok(Arch::ScmpArchNative) | Err(_) => {
                Err(de::Error::custom(format!("unknown architecture `{s}`")))
            }
            Ok(a) => Ok(ArchField(a)),
        }
    }
}

fn arch<'de, D: Deserializer<'de>>(d: D) -> Result<Arch, D::Error> {
    Ok(ArchField::deserialize(d)?.0)
}

/// A list of architectures; null is the empty one, as for [`nullable`].
fn arches<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Arch>, D::Error> {
    Ok(Option::<Vec<ArchField>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.0)
        .collect())
}

/// The seccomp(2) filter flags the runtime-spec and runc know.
const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// A null where a list or object may stand is the empty one: Go writes
/// nil slices as `null`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker writes `"comment": ""` where there is none.
fn comment<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|c| !c.is_empty()))
}

fn arg_index<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let i = u64::deserialize(d)?;
    // six syscall arguments; runc indexes an array of six with it
    if i > 5 {
        return Err(de::Error::custom(format!(
            "{i} is not an argument index (0 to 5)"
        )));
    }
    Ok(i as u32)
}

/// One comparison of a syscall argument.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arg {
    #[serde(deserialize_with = "arg_index")]
    pub index: u32,
    pub value: u64,
    #[serde(default, rename = "valueTwo")]
    pub value_two: u64,
    pub op: Op,
}

/// A kernel version `<kernel>.<major>` (Docker's `minKernel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kernel(pub u8, pub u8);

impl Serialize for Kernel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}.{}", self.0, self.1))
    }
}

impl<'de> Deserialize<'de> for Kernel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || de::Error::custom(format!("`{s}` is not <kernel>.<major>, such as \"4.8\""));
        let (k, m) = s.split_once('.').ok_or_else(bad)?;
        let k: u8 = k.parse().map_err(|_| bad())?;
        let m: u8 = m.parse().map_err(|_| bad())?;
        if (k, m) == (0, 0) {
            return Err(bad());
        }
        Ok(Kernel(k, m))
    }
}

/// Docker's conditions on a rule: the container's capabilities, the
/// host's architecture (Go's names: `amd64`, `x32`) and kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub caps: Vec<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arches: Vec<String>,
    #[serde(default, rename = "minKernel", skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<Kernel>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// One rule: an action for some syscalls, under conditions or not.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default, deserialize_with = "nullable")]
    pub names: Vec<String>,
    /// Docker's old single-name form, read into `names`.
    #[serde(default, skip_serializing)]
    pub(super) name: Option<String>,
    pub action: Action,
    #[serde(default, rename = "errnoRet", skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<Arg>,
    /// Docker's free text (ctraudit's caveats go here: docs/seccomp.md).
    #[serde(
        default,
        deserialize_with = "comment",
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Filter::is_empty"
    )]
    pub includes: Filter,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Filter::is_empty"
    )]
    pub excludes: Filter,
}

impl Rule {
    pub fn new(names: Vec<String>, action: Action, errno_ret: Option<u32>) -> Rule {
        Rule {
            names,
            name: None,
            action,
            errno_ret,
            args: Vec::new(),
            comment: None,
            includes: Filter::default(),
            excludes: Filter::default(),
        }
    }

    /// Whether the rule applies only under conditions.
    pub fn conditional(&self) -> bool {
        !self.args.is_empty() || !self.includes.is_empty() || !self.excludes.is_empty()
    }

    /// An allow rule with no conditions.
    pub fn allows_always(&self) -> bool {
        self.action == Action::Allow && !self.conditional()
    }

    /// The same rule for other names.
    pub fn for_names(&self, names: Vec<String>) -> Rule {
        Rule {
            names,
            ..self.clone()
        }
    }

    /// Everything but the names, errno made explicit: two rules with the
    /// same body may be one rule with both names.
    pub fn body(&self) -> Rule {
        Rule {
            names: Vec::new(),
            errno_ret: self.action.errno(self.errno_ret),
            ..self.clone()
        }
    }
}

/// An entry of Docker's `archMap`: the native architecture and the ones
/// it also runs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchMap {
    #[serde(deserialize_with = "arch")]
    pub architecture: Arch,
    #[serde(default, rename = "subArchitectures", deserialize_with = "arches")]
    pub sub_architectures: Vec<Arch>,
}

/// Debug with the architectures' names, as messages (a merge's "not
/// merged") show them.
impl std::fmt::Debug for ArchMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let subs: Vec<String> = self
            .sub_architectures
            .iter()
            .map(|a| arch_name(*a))
            .collect();
        f.debug_struct("ArchMap")
            .field("architecture", &arch_name(self.architecture))
            .field("sub_architectures", &subs)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    pub default_action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(
        default,
        deserialize_with = "arches",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub architectures: Vec<Arch>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub arch_map: Vec<ArchMap>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub syscalls: Vec<Rule>,
}

/// A serde error as the one-line error of `what`, naming the field.
pub(super) fn field_error(
    what: &str,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> SeccompError {
    let field = e.path().to_string();
    let message = e.into_inner().to_string();
    // "unknown field `x`, expected one of ...": the path names the field
    let message = match message.strip_prefix("unknown field `") {
        Some(rest) if rest.contains("`, expected") => "unknown field".to_owned(),
        _ => message,
    };
    if field == "." {
        return SeccompError::Invalid {
            what: what.into(),
            message,
        };
    }
    SeccompError::Field {
        what: what.into(),
        field,
        message,
    }
}

impl Profile {
    /// Reads a profile, refusing any field or value the format does not
    /// have, with the field's path (`syscalls[2].action`).
    pub fn parse(what: &str, v: &Value) -> Result<Profile, SeccompError> {
        let mut p: Profile =
            serde_path_to_error::deserialize(v).map_err(|e| field_error(what, e))?;
        p.check(what)?;
        Ok(p)
    }

    /// What serde cannot say: values that must agree with each other or
    /// come from a fixed list; Docker's `name` read into `names`.
    fn check(&mut self, what: &str) -> Result<(), SeccompError> {
        let err = |field: String, message: String| SeccompError::Field {
            what: what.into(),
            field,
            message,
        };
        if self.default_errno_ret.is_some() && self.default_action.errno(None).is_none() {
            return Err(err(
                "defaultErrnoRet".into(),
                format!("{} returns no errno", self.default_action.name()),
            ));
        }
        for (i, f) in self.flags.iter().enumerate() {
            if !FLAGS.contains(&f.as_str()) {
                return Err(err(format!("flags[{i}]"), format!("unknown flag `{f}`")));
            }
        }
        for (i, r) in self.syscalls.iter_mut().enumerate() {
            if let Some(name) = r.name.take() {
                if !r.names.is_empty() {
                    return Err(err(
                        format!("syscalls[{i}].name"),
                        "both `name` and `names`: use `names`".into(),
                    ));
                }
                r.names.push(name);
            }
            if r.names.is_empty() {
                return Err(err(
                    format!("syscalls[{i}].names"),
                    "no syscall named".into(),
                ));
            }
            if let Some(j) = r.names.iter().position(String::is_empty) {
                return Err(err(format!("syscalls[{i}].names[{j}]"), "empty".into()));
            }
            // runc adds a rule with two conditions on one argument as one
            // rule per condition, so either lets the call through: rarely
            // what the profile's author meant, and never what we compute
            for (j, a) in r.args.iter().enumerate() {
                if r.args[..j].iter().any(|b| b.index == a.index) {
                    return Err(err(
                        format!("syscalls[{i}].args[{j}]"),
                        format!(
                            "a second condition on argument {}: runc would let the call through when either holds; write one rule per condition",
                            a.index
                        ),
                    ));
                }
            }
            if r.errno_ret.is_some() && r.action.errno(None).is_none() {
                return Err(err(
                    format!("syscalls[{i}].errnoRet"),
                    format!("{} returns no errno", r.action.name()),
                ));
            }
        }
        Ok(())
    }

    /// Names this profile allows without conditions.
    pub fn allowed(&self) -> BTreeSet<String> {
        self.syscalls
            .iter()
            .filter(|r| r.allows_always())
            .flat_map(|r| r.names.iter().cloned())
            .collect()
    }

    /// The rules that name `name`, each for that name alone.
    pub fn rules_for(&self, name: &str) -> Vec<Rule> {
        self.syscalls
            .iter()
            .filter(|r| r.names.iter().any(|n| n == name))
            .map(|r| r.for_names(vec![name.to_owned()]))
            .collect()
    }

    /// The caveats ctraudit wrote into the profile's comments.
    pub fn caveats(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for c in self.syscalls.iter().filter_map(|r| r.comment.as_deref()) {
            if c.starts_with(super::CAVEAT_PREFIX) && !seen.iter().any(|s| s == c) {
                seen.push(c.to_owned());
            }
        }
        seen
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
