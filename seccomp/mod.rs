//! Seccomp profiles from what a container did: the OCI/Docker format
//! (`defaultAction`, `architectures`, `syscalls`), allowing exactly the
//! syscalls the workload used plus what the runtime itself needs after it
//! installs the filter. See docs/seccomp.md for how that set was found.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the runtime calls between installing the filter and exec'ing the
/// workload, which the audit (starting at that exec) does not see.
///
/// Measured (docs/seccomp.md): runc 1.1 under a profile whose
/// `defaultAction` is `SCMP_ACT_LOG`, the kernel's audit messages read with
/// printk rate limiting off. Then what runc needs but the probe profile
/// already allowed (the exec fifo's write, execve), and what Go's runtime
/// may call on runc's other threads at any moment (scheduler, signals,
/// memory), so the profile does not depend on timing.
pub const RUNTIME_SYSCALLS: &[&str] = &[
    // measured: runc 1.1 init after InitSeccomp
    "capget",
    "capset",
    "chdir",
    "close",
    "epoll_ctl",
    "faccessat2",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "newfstatat",
    "openat",
    "prctl",
    "rt_sigreturn",
    "setgid",
    "setgroups",
    "setuid",
    // runc, allowed by the probe profile: the exec fifo, the exec itself
    "execve",
    "read",
    "write",
    // Go runtime on any thread
    "clone",
    "epoll_pwait",
    "exit",
    "exit_group",
    "gettid",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "rt_sigaction",
    "rt_sigprocmask",
    "sched_yield",
    "sigaltstack",
    "tgkill",
];

/// Syscalls that only wait, sleep or yield. Whether a workload makes them
/// depends on timing, not on what it does: a shell's `wait` calls
/// rt_sigsuspend only when its child has not exited yet, and refused, the
/// shell retries forever. They grant no access, so every profile allows
/// them, whether or not the audited run happened to need them.
pub const TIMING_SYSCALLS: &[&str] = &[
    "clock_nanosleep",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "futex",
    "nanosleep",
    "pause",
    "poll",
    "ppoll",
    "pselect6",
    "restart_syscall",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "sched_yield",
    "select",
    "wait4",
    "waitid",
];

/// Docker's default profile's architectures for an x86_64 host.
pub const ARCHITECTURES: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub names: Vec<String>,
    pub action: String,
    #[serde(default, rename = "errnoRet", skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// Conditions of rules in profiles read from elsewhere (kept as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excludes: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("{what}: neither a ctraudit summary nor a seccomp profile")]
    NotAProfile { what: String },
    #[error("{what}: field `{field}`: {message}")]
    Field {
        what: String,
        field: &'static str,
        message: String,
    },
}

/// ENOSYS: what a refused clone3 must return for glibc to fall back to clone.
const ENOSYS: u32 = 38;

impl Rule {
    fn new(names: Vec<String>, action: &str, errno_ret: Option<u32>) -> Rule {
        Rule {
            names,
            action: action.into(),
            errno_ret,
            args: None,
            includes: None,
            excludes: None,
        }
    }

    /// Whether the rule applies only under conditions (empty ones count as
    /// none: older Docker profiles write `"args": [], "includes": {}`).
    fn conditional(&self) -> bool {
        let set = |v: &Option<Value>| match v {
            None | Some(Value::Null) => false,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(_) => true,
        };
        set(&self.args) || set(&self.includes) || set(&self.excludes)
    }
}

impl Profile {
    /// Allows `names` (sorted, deduplicated) and refuses the rest with
    /// EPERM; clone3, when not allowed, with ENOSYS so glibc falls back to
    /// clone (as Docker's default profile does).
    pub fn allowing(names: BTreeSet<String>) -> Profile {
        Self::with_rules(names, Vec::new())
    }

    fn with_rules(names: BTreeSet<String>, mut extra: Vec<Rule>) -> Profile {
        let clone3 =
            names.contains("clone3") || extra.iter().any(|r| r.names.iter().any(|n| n == "clone3"));
        let mut syscalls = vec![Rule::new(
            names.into_iter().collect(),
            "SCMP_ACT_ALLOW",
            None,
        )];
        syscalls.append(&mut extra);
        if !clone3 {
            syscalls.push(Rule::new(
                vec!["clone3".into()],
                "SCMP_ACT_ERRNO",
                Some(ENOSYS),
            ));
        }
        Profile {
            default_action: "SCMP_ACT_ERRNO".into(),
            default_errno_ret: Some(1),
            architectures: ARCHITECTURES.iter().map(|a| a.to_string()).collect(),
            syscalls,
        }
    }

    /// Names this profile allows without conditions.
    pub fn allowed(&self) -> BTreeSet<String> {
        self.syscalls
            .iter()
            .filter(|r| r.action == "SCMP_ACT_ALLOW" && !r.conditional())
            .flat_map(|r| r.names.iter().cloned())
            .collect()
    }

    /// Whether this profile lets `name` through unconditionally.
    fn lets_through(&self, name: &str) -> bool {
        let listed = |action: &dyn Fn(&str) -> bool| {
            self.syscalls
                .iter()
                .any(|r| action(&r.action) && r.names.iter().any(|n| n == name))
        };
        if self.default_action == "SCMP_ACT_ALLOW" {
            // allow-by-default: blocked only where a rule says otherwise
            !listed(&|a| a != "SCMP_ACT_ALLOW")
        } else {
            self.allowed().contains(name)
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The profile a summary earned: the syscalls it used (by name) plus the
/// runtime's. Numbers the syscall table does not name cannot be allowed by
/// name; they are returned as notes.
pub fn from_summary(what: &str, summary: &Value) -> Result<(Profile, Vec<String>), SeccompError> {
    let counts = summary
        .pointer("/syscalls/counts")
        .and_then(Value::as_object)
        .ok_or_else(|| SeccompError::Field {
            what: what.into(),
            field: "syscalls.counts",
            message: "missing".into(),
        })?;
    let mut names: BTreeSet<String> = RUNTIME_SYSCALLS
        .iter()
        .chain(TIMING_SYSCALLS)
        .map(|s| s.to_string())
        .collect();
    let mut notes = Vec::new();
    for name in counts.keys() {
        if name.starts_with("syscall_") {
            notes.push(format!(
                "{what}: {name} has no name in the syscall table and is not in the profile"
            ));
        } else {
            names.insert(name.clone());
        }
    }
    let loss = &summary["loss"];
    for (field, why) in [
        ("syscalls_compat", "32-bit syscalls"),
        ("syscalls_unknown", "syscall numbers above 511"),
    ] {
        if loss[field].as_u64().unwrap_or(0) > 0 {
            notes.push(format!(
                "{what}: the workload made {why}: the audit has them counted, not named, so the profile cannot list them"
            ));
        }
    }
    Ok((Profile::allowing(names), notes))
}

/// Reads a summary.json or a seccomp profile.
pub fn load(what: &str, v: &Value) -> Result<(Profile, Vec<String>), SeccompError> {
    if v.get("schema").and_then(Value::as_str) == Some(crate::hook::summary::SCHEMA) {
        return from_summary(what, v);
    }
    if v.get("defaultAction").is_some() {
        let p: Profile = serde_json::from_value(v.clone()).map_err(|e| SeccompError::Field {
            what: what.into(),
            field: "syscalls",
            message: e.to_string(),
        })?;
        return Ok((p, vec![]));
    }
    Err(SeccompError::NotAProfile { what: what.into() })
}

/// One profile that runs every workload any of `profiles` runs.
pub fn merge(profiles: &[Profile]) -> Profile {
    Profile::allowing(profiles.iter().flat_map(Profile::allowed).collect())
}

/// `profile` without what `base` blocks. A name the base allows only under
/// conditions (Docker's default: clone without namespace flags, ...) or
/// refuses in its own way (clone3 with ENOSYS) takes the base's rules.
pub fn within(profile: &Profile, base: &Profile) -> (Profile, Vec<String>) {
    let mut kept = BTreeSet::new();
    let mut copied: Vec<Rule> = Vec::new();
    let mut notes = Vec::new();
    for name in profile.allowed() {
        if base.lets_through(&name) {
            kept.insert(name);
            continue;
        }
        let rules: Vec<Rule> = base
            .syscalls
            .iter()
            .filter(|r| {
                r.names.contains(&name) && (r.action == "SCMP_ACT_ALLOW" || r.errno_ret.is_some())
            })
            .map(|r| Rule {
                names: vec![name.clone()],
                ..r.clone()
            })
            .collect();
        if rules.is_empty() {
            notes.push(format!("{name}: blocked by the base profile, left out"));
        } else {
            notes.push(format!(
                "{name}: only as the base profile allows it (its conditions kept)"
            ));
            copied.extend(rules);
        }
    }
    (Profile::with_rules(kept, copied), notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(names: &[&str]) -> Value {
        let counts: serde_json::Map<String, Value> =
            names.iter().map(|n| (n.to_string(), json!(1))).collect();
        json!({"schema": "ctraudit.summary/v1", "syscalls": {"counts": counts}, "loss": {}})
    }

    #[test]
    fn a_summary_gives_a_sorted_profile_with_the_runtime_set() {
        let (p, notes) = from_summary("s", &summary(&["openat", "write", "syscall_999"])).unwrap();
        assert_eq!(p.default_action, "SCMP_ACT_ERRNO");
        assert_eq!(p.default_errno_ret, Some(1));
        assert_eq!(
            p.architectures,
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        );
        assert_eq!(
            p.syscalls.len(),
            2,
            "the allow list and clone3 refused with ENOSYS"
        );
        let names = &p.syscalls[0].names;
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(names.contains(&"openat".to_string()) && names.contains(&"fstatfs".to_string()));
        assert!(
            names.contains(&"rt_sigsuspend".to_string()),
            "timing-dependent waits are always allowed"
        );
        assert!(!names.iter().any(|n| n.starts_with("syscall_")));
        assert_eq!(
            notes,
            ["s: syscall_999 has no name in the syscall table and is not in the profile"]
        );
        let v: Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(v["syscalls"][0]["action"], "SCMP_ACT_ALLOW");
        assert!(v["syscalls"][0].get("args").is_none());
    }

    #[test]
    fn merge_is_the_union_and_base_blocks_stay_blocked() {
        let (a, _) = from_summary("a", &summary(&["mkdir"])).unwrap();
        let (b, _) = from_summary("b", &summary(&["mknodat"])).unwrap();
        let m = merge(&[a, b]);
        assert!(m.allowed().contains("mkdir") && m.allowed().contains("mknodat"));

        let base = Profile::allowing(["mkdir", "openat"].into_iter().map(String::from).collect());
        let (r, notes) = within(&m, &base);
        assert_eq!(
            r.allowed(),
            ["mkdir", "openat"].into_iter().map(String::from).collect()
        );
        assert!(notes.contains(&"mknodat: blocked by the base profile, left out".to_string()));

        // an allow-by-default base blocks only what it lists
        let deny_mkdir: Profile = serde_json::from_value(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
        }))
        .unwrap();
        let (r, _) = within(&m, &deny_mkdir);
        assert!(!r.allowed().contains("mkdir") && r.allowed().contains("mknodat"));
    }

    #[test]
    fn conditional_base_rules_are_kept_and_empty_conditions_are_none() {
        let (p, _) = from_summary("a", &summary(&["clone", "clone3", "mkdir"])).unwrap();
        // like Docker's default: clone only without namespace flags, clone3
        // refused with ENOSYS, an old-style rule with empty conditions
        let base: Profile = serde_json::from_value(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["mkdir", "openat"], "action": "SCMP_ACT_ALLOW", "args": [], "includes": {}, "excludes": {}},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288u64, "op": "SCMP_CMP_MASKED_EQ"}],
                 "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
            ]
        }))
        .unwrap();
        assert!(
            base.allowed().contains("mkdir"),
            "empty conditions are no conditions"
        );
        let (r, notes) = within(&p, &base);
        assert!(r.allowed().contains("mkdir") && !r.allowed().contains("clone"));
        let clone = r
            .syscalls
            .iter()
            .find(|x| x.names == ["clone"])
            .expect("clone's conditional rule");
        assert!(clone.conditional() && clone.action == "SCMP_ACT_ALLOW");
        let clone3 = r.syscalls.iter().find(|x| x.names == ["clone3"]).unwrap();
        assert_eq!(
            (clone3.action.as_str(), clone3.errno_ret),
            ("SCMP_ACT_ERRNO", Some(38))
        );
        assert!(notes.contains(
            &"clone: only as the base profile allows it (its conditions kept)".to_string()
        ));
        assert_eq!(
            r.syscalls.iter().filter(|x| x.names == ["clone3"]).count(),
            1,
            "no second clone3 rule"
        );
    }

    #[test]
    fn clone3_is_refused_with_enosys_when_not_allowed() {
        let (p, _) = from_summary("a", &summary(&["write"])).unwrap();
        let v: Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(
            v["syscalls"][1],
            json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})
        );
        let (p, _) = from_summary("a", &summary(&["clone3"])).unwrap();
        assert_eq!(p.syscalls.len(), 1);
    }

    #[test]
    fn other_documents_are_refused() {
        assert_eq!(
            load("x.json", &json!({"a": 1})).unwrap_err().to_string(),
            "x.json: neither a ctraudit summary nor a seccomp profile"
        );
    }
}
