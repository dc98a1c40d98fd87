//! Unit tests of profiles from summaries, their parsing, merge and base.

use super::*;
use serde_json::json;

/// A profile from a summary given as JSON, read as `load` reads one.
fn from_summary(what: &str, v: &Value) -> Result<(Profile, Vec<String>), SeccompError> {
    super::from_summary(what, &read_summary(what, v)?)
}

fn summary(names: &[&str]) -> Value {
    with(names, json!([]), json!({}))
}

/// A summary with `names` counted, `privileged` entries and `loss`
/// counters (complete when all are 0).
fn with(names: &[&str], privileged: Value, counters: Value) -> Value {
    let counts: serde_json::Map<String, Value> =
        names.iter().map(|n| (n.to_string(), json!(1))).collect();
    let mut loss = json!({"complete": true, "kernel_data": "complete", "problems": []});
    for (k, v) in counters.as_object().unwrap() {
        loss[k] = v.clone();
        if v != 0 {
            loss["complete"] = false.into();
        }
    }
    json!({"schema": "ctraudit.summary/v1", "syscalls": {"counts": counts},
           "privileged": privileged, "loss": loss})
}

fn priv_entry(kind: &str, field: &str, flags: &str, count: u64, failed: u64) -> Value {
    json!({"kind": kind, "args": {field: flags}, "count": count, "failed": failed,
           "last_error": if failed > 0 { json!("EPERM") } else { json!(null) }})
}

fn profile(v: Value) -> Profile {
    Profile::parse("p.json", &v).unwrap()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn clone_rule(flags: u64) -> Value {
    json!({"names": ["clone"], "action": "SCMP_ACT_ALLOW",
           "args": [{"index": 0, "value": CLONE_NS_MASK, "valueTwo": flags, "op": "SCMP_CMP_MASKED_EQ"}]})
}

fn rules(p: &Profile) -> Value {
    serde_json::to_value(&p.syscalls).unwrap()
}

/// The rules after the first (the unconditional allow list).
fn conditional(p: &Profile) -> Value {
    Value::Array(rules(p).as_array().unwrap()[1..].to_vec())
}

#[test]
fn a_summary_gives_a_sorted_profile_with_the_runtime_set() {
    let (p, notes) = from_summary("s", &summary(&["openat", "write", "syscall_999"])).unwrap();
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.default_errno_ret, Some(1));
    assert_eq!(
        p.architectures
            .iter()
            .map(|a| arch_name(*a))
            .collect::<Vec<_>>(),
        ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    );
    let names = &p.syscalls[0].names;
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "sorted, no duplicates"
    );
    let want: BTreeSet<String> = RUNTIME_SYSCALLS
        .iter()
        .chain(TIMING_SYSCALLS)
        .chain(SIGNAL_SYSCALLS)
        .chain(&["openat", "write"])
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names.iter().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(
        rules(&p),
        json!([
            {"names": names, "action": "SCMP_ACT_ALLOW"},
            clone_rule(0),
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
        ])
    );
    assert_eq!(
        notes,
        ["s: syscall_999 has no name in the syscall table and is not in the profile"]
    );
}

#[test]
fn clone_and_unshare_make_only_the_namespaces_the_audit_saw_made() {
    let privileged = json!([
        priv_entry("clone", "namespaces", "0x50000000", 2, 0),
        // the exit signal's bit is no namespace of clone's
        priv_entry("clone", "namespaces", "0x80", 1, 0),
        priv_entry("clone", "namespaces", "0x20000000", 1, 1),
        priv_entry("unshare", "flags", "0x20400", 1, 0),
        priv_entry("unshare", "flags", "0x10000000", 3, 3),
    ]);
    let s = with(
        &["clone", "clone3", "unshare", "mkdir"],
        privileged,
        json!({}),
    );
    let (p, notes) = from_summary("s", &s).unwrap();
    let allowed = p.allowed();
    assert!(allowed.contains("mkdir"));
    for n in ["clone", "clone3", "unshare"] {
        assert!(!allowed.contains(n), "{n} only under conditions");
    }
    let unshare = |flags: u64| {
        json!({"names": ["unshare"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": UNSHARE_NS_MASK, "valueTwo": flags, "op": "SCMP_CMP_MASKED_EQ"}]})
    };
    assert_eq!(
        conditional(&p),
        json!([
            clone_rule(0),
            clone_rule(0x5000_0000),
            unshare(0x2_0000),
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
        ])
    );
    assert_eq!(
        notes,
        [
            "s: clone with namespaces 0x20000000: every call failed in the audit (EPERM), so the profile refuses it",
            "s: unshare with namespaces 0x10000000: every call failed in the audit (EPERM), so the profile refuses it",
            "s: clone3 is refused with ENOSYS, as Docker's default does: no filter can read its flags, and the C library falls back to clone",
        ]
    );
}

#[test]
fn clone3_is_allowed_only_when_the_audit_saw_it_make_namespaces() {
    let (p, notes) = from_summary("s", &summary(&["write"])).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        rules(&p).as_array().unwrap().last().unwrap(),
        &json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})
    );
    let s = with(
        &["clone3"],
        json!([priv_entry("clone3", "namespaces", "0x10000080", 1, 0)]),
        json!({}),
    );
    let (p, notes) = from_summary("s", &s).unwrap();
    assert!(p.allowed().contains("clone3"));
    assert!(p.rules_for("clone3").iter().all(Rule::allows_always));
    assert_eq!(
        notes,
        ["s: clone3 is allowed with any flags: the audit saw it make namespaces (0x10000080), and no filter can read its flags"]
    );
}

#[test]
fn an_incomplete_audit_is_said_on_stderr_and_in_the_profile() {
    let s = with(
        &["write"],
        json!([]),
        json!({"tasks_lost": 2, "files_overflow": 0, "program_misses": 1}),
    );
    let (p, notes) = from_summary("c1", &s).unwrap();
    assert_eq!(
        notes,
        ["c1: the audit is incomplete (tasks_lost 2, program_misses 1): the profile may be too tight"]
    );
    assert_eq!(
        p.syscalls[0].comment.as_deref(),
        Some("ctraudit: the audit of c1 is incomplete (tasks_lost 2, program_misses 1): this profile may be too tight")
    );
    // read back, the profile says it again
    let v = serde_json::from_str(&p.to_json()).unwrap();
    let (_, notes) = load("p.json", &v).unwrap();
    assert_eq!(
        notes,
        ["p.json: ctraudit: the audit of c1 is incomplete (tasks_lost 2, program_misses 1): this profile may be too tight"]
    );
    // the kernel's record partly missing, with no counter set
    let mut s = summary(&["write"]);
    s["loss"]["complete"] = false.into();
    s["loss"]["kernel_data"] = "partial".into();
    let (_, notes) = from_summary("c1", &s).unwrap();
    assert_eq!(
        notes,
        ["c1: the audit is incomplete (kernel_data partial): the profile may be too tight"]
    );
}

#[test]
fn malformed_summaries_name_the_field() {
    let err = |v: Value| from_summary("s.json", &v).unwrap_err().to_string();
    let mut s = summary(&["write"]);
    s["privileged"] = json!([priv_entry("clone", "namespaces", "ten", 1, 0)]);
    assert_eq!(
        err(s),
        "s.json: field `privileged[0].args.namespaces`: `ten` is not a hex number such as \"0x10000000\""
    );
    let mut s = summary(&["write"]);
    s["loss"]["tasks_lost"] = json!("many");
    assert_eq!(
        err(s),
        "s.json: field `loss.tasks_lost`: `\"many\"` is not a count"
    );
    let mut s = summary(&["write"]);
    s.as_object_mut().unwrap().remove("loss");
    assert_eq!(err(s), "s.json: missing field `loss`");
    let mut s = summary(&["write"]);
    s["privileged"] = json!([{"kind": "clone"}]);
    assert_eq!(
        err(s),
        "s.json: field `privileged[0]`: missing field `count`"
    );
    assert_eq!(
        load("x.json", &json!({"schema": "ctraudit.summary/v9"}))
            .unwrap_err()
            .to_string(),
        "x.json: field `schema`: \"ctraudit.summary/v9\" is not ctraudit.summary/v1"
    );
}

#[test]
fn malformed_profiles_name_the_field_and_value() {
    let err = |v: Value| Profile::parse("p.json", &v).unwrap_err().to_string();
    let rule = |r: Value| json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [r]});
    for (v, want) in [
        (
            json!({"defaultAction": "SCMP_ACT_BOGUS"}),
            "field `defaultAction`: unknown action `SCMP_ACT_BOGUS`",
        ),
        (
            json!({"defaultAction": 1}),
            "field `defaultAction`: invalid type: integer `1`, expected a string",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1}),
            "field `defaultErrnoRet`: SCMP_ACT_KILL returns no errno",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]}),
            "field `architectures[1]`: unknown architecture `SCMP_ARCH_Z80`",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["x86"]}]}),
            "field `archMap[0].subArchitectures[0]`: unknown architecture `x86`",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}),
            "field `flags[0]`: unknown flag `SECCOMP_FILTER_FLAG_FAST`",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "syscals": []}),
            "field `syscals`: unknown field",
        ),
        (
            rule(json!({"names": ["read"], "action": "SCMP_ACT_LET"})),
            "field `syscalls[0].action`: unknown action `SCMP_ACT_LET`",
        ),
        (
            rule(json!({"names": ["read"]})),
            "field `syscalls[0]`: missing field `action`",
        ),
        (
            rule(json!({"names": [], "action": "SCMP_ACT_ALLOW"})),
            "field `syscalls[0].names`: no syscall named",
        ),
        (
            rule(json!({"names": ["read", ""], "action": "SCMP_ACT_ALLOW"})),
            "field `syscalls[0].names[1]`: empty",
        ),
        (
            rule(json!({"name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW"})),
            "field `syscalls[0].name`: both `name` and `names`: use `names`",
        ),
        (
            rule(json!({"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1})),
            "field `syscalls[0].errnoRet`: SCMP_ACT_ALLOW returns no errno",
        ),
        (
            rule(
                json!({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_AROUND"}]}),
            ),
            "field `syscalls[0].args[0].op`: unknown operator `SCMP_CMP_AROUND`",
        ),
        (
            rule(
                json!({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}),
            ),
            "field `syscalls[0].args[0].index`: 9 is not an argument index (0 to 5)",
        ),
        (
            rule(
                json!({"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}),
            ),
            "field `syscalls[0].args[0].value`: invalid value: integer `-1`, expected u64",
        ),
        (
            rule(json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]})),
            "field `syscalls[0].args[1]`: a second condition on argument 0: runc would let the call through when either holds; write one rule per condition",
        ),
        (
            rule(
                json!({"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4"}}),
            ),
            "field `syscalls[0].includes.minKernel`: `4` is not <kernel>.<major>, such as \"4.8\"",
        ),
        (
            rule(
                json!({"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"cap": ["CAP_SYS_ADMIN"]}}),
            ),
            "field `syscalls[0].includes.cap`: unknown field",
        ),
    ] {
        assert_eq!(err(v), format!("p.json: {want}"));
    }
}

#[test]
fn docker_profiles_old_and_new_read_as_docker_reads_them() {
    let p = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}],
        "syscalls": [
            // old Docker: empty conditions, an empty comment, a single name
            {"name": "read", "action": "SCMP_ACT_ALLOW", "args": [], "comment": "", "includes": {}, "excludes": {}},
            {"names": ["write"], "action": "SCMP_ACT_ALLOW", "args": null},
            {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}}
        ]
    }));
    assert_eq!(p.allowed(), set(&["read", "write"]));
    assert_eq!(p.syscalls[0].names, ["read"]);
    assert_eq!(p.syscalls[0].comment, None);
    assert_eq!(p.syscalls[2].includes.min_kernel, Some(Kernel(4, 8)));
    // written back in today's form
    let v: Value = serde_json::from_str(&p.to_json()).unwrap();
    assert_eq!(
        v["syscalls"],
        json!([
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}}
        ])
    );
}

#[test]
fn merge_of_one_is_that_profile_and_of_several_the_union() {
    let s = with(
        &["mkdir"],
        json!([priv_entry("clone", "namespaces", "0x50000000", 1, 0)]),
        json!({}),
    );
    let (a, _) = from_summary("a", &s).unwrap();
    let (b, _) = from_summary("b", &summary(&["mknodat"])).unwrap();
    let one = |p: &Profile| merge(&[("a".into(), p.clone())]).unwrap();
    assert_eq!(one(&a), (a.clone(), vec![]));
    let (m, notes) = merge(&[("a".into(), a.clone()), ("b".into(), b.clone())]).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert!(m.allowed().is_superset(&a.allowed()) && m.allowed().is_superset(&b.allowed()));
    assert_eq!(
        conditional(&m),
        json!([
            clone_rule(0),
            clone_rule(0x5000_0000),
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
        ])
    );
    // a profile merged with itself is itself
    let (aa, _) = merge(&[("a".into(), a.clone()), ("a2".into(), a.clone())]).unwrap();
    assert_eq!(aa, a);
}

#[test]
fn merge_keeps_conditions_and_drops_only_what_another_input_allows() {
    let base_like = profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["arch_prctl", "personality"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]},
         "args": [{"index": 0, "value": CLONE_NS_MASK, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
    ]}));
    let plain = profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["arch_prctl", "write"], "action": "SCMP_ACT_ALLOW"},
        clone_rule(0),
    ]}));
    let (m, notes) = merge(&[("a.json".into(), base_like), ("b.json".into(), plain)]).unwrap();
    assert_eq!(
        rules(&m),
        json!([
            {"names": ["arch_prctl", "read", "write"], "action": "SCMP_ACT_ALLOW"},
            // personality keeps its condition; clone's wider rule stands for both
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
            clone_rule(0),
        ])
    );
    assert_eq!(
        notes,
        ["arch_prctl: b.json allows it with any arguments, so the conditions a.json puts on it are dropped"]
    );
}

#[test]
fn merge_refuses_what_it_cannot_merge_exactly() {
    let p = |v: Value| profile(v);
    let refusing = |errno: u32| {
        p(
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]}),
        )
    };
    let err = |a: Profile, b: Profile| {
        merge(&[("a.json".into(), a), ("b.json".into(), b)])
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(refusing(38), refusing(95)),
        "clone3: a.json and b.json give it different rules that are not all allowing: a merge cannot keep both"
    );
    // one input's refusal where the other says nothing: kept
    let (m, _) = merge(&[
        ("a.json".into(), refusing(38)),
        (
            "b.json".into(),
            p(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["write"], "action": "SCMP_ACT_ALLOW"}]})),
        ),
    ])
    .unwrap();
    assert_eq!(m.rules_for("clone3"), refusing(38).rules_for("clone3"));
    // ERRNO without errnoRet is EPERM: the same default
    let (m, _) = merge(&[
        ("a.json".into(), refusing(38)),
        (
            "b.json".into(),
            p(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []})),
        ),
    ])
    .unwrap();
    assert_eq!(m.default_errno_ret, Some(1));
    assert_eq!(
        err(
            refusing(38),
            p(json!({"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": []}))
        ),
        "b.json: field `defaultAction`: SCMP_ACT_KILL_PROCESS here, SCMP_ACT_ERRNO (errno 1) in a.json: not merged"
    );
    assert_eq!(
        err(
            refusing(38),
            p(json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"]}))
        ),
        "b.json: field `architectures`: [\"SCMP_ARCH_X86_64\"] here, [] in a.json: not merged"
    );
    assert_eq!(
        err(
            refusing(38),
            p(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}))
        ),
        "b.json: field `defaultAction`: SCMP_ACT_ALLOW lets every call through: only profiles that refuse by default can be merged"
    );
}

#[test]
fn merge_keeps_every_caveat() {
    let lossy = |id: &str| {
        from_summary(id, &with(&["write"], json!([]), json!({"tasks_lost": 1})))
            .unwrap()
            .0
    };
    let (m, _) = merge(&[
        ("a".into(), lossy("c1")),
        (
            "b".into(),
            from_summary("c2", &summary(&["read"])).unwrap().0,
        ),
        ("c".into(), lossy("c3")),
    ])
    .unwrap();
    assert_eq!(
        m.caveats(),
        ["ctraudit: the audit of c1 is incomplete (tasks_lost 1): this profile may be too tight; \
          ctraudit: the audit of c3 is incomplete (tasks_lost 1): this profile may be too tight"]
    );
}

#[test]
fn base_blocks_stay_blocked() {
    let (a, _) = from_summary("a", &summary(&["mkdir"])).unwrap();
    let (b, _) = from_summary("b", &summary(&["mknodat"])).unwrap();
    let (m, _) = merge(&[("a".into(), a), ("b".into(), b)]).unwrap();

    let base = profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["mkdir", "openat"], "action": "SCMP_ACT_ALLOW"}]}));
    let (r, notes) = within(&m, &base).unwrap();
    assert_eq!(r.allowed(), set(&["mkdir", "openat"]));
    assert!(notes.contains(&"mknodat: blocked by the base profile, left out".to_string()));
    assert!(notes.contains(&"clone: blocked by the base profile, left out".to_string()));
    // the profile's own refusal stays
    assert_eq!(
        r.rules_for("clone3"),
        [Rule::new(
            vec!["clone3".into()],
            Action::Errno,
            Some(ENOSYS)
        )]
    );

    // an allow-by-default base blocks only what it lists
    let deny_mkdir = profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["mknodat"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]}));
    let (r, notes) = within(&m, &deny_mkdir).unwrap();
    assert!(!r.allowed().contains("mkdir") && r.allowed().contains("openat"));
    assert_eq!(rules(&r)[1], clone_rule(0), "clone's condition stays");
    assert_eq!(
        notes,
        [
            "mkdir: blocked by the base profile, left out",
            "mknodat: the base profile refuses it only under conditions, which a profile that refuses by default cannot say: left out",
        ]
    );
    assert!(
        within(&deny_mkdir, &m).is_err(),
        "an allow-by-default profile"
    );
}

#[test]
fn within_a_docker_like_base_conditions_add_up() {
    let s = with(
        &["clone", "clone3", "arch_prctl", "mkdir"],
        json!([priv_entry("clone", "namespaces", "0x10000000", 1, 0)]),
        json!({}),
    );
    let (p, _) = from_summary("a", &s).unwrap();
    // like Docker's default: clone only without namespace flags (or with
    // CAP_SYS_ADMIN), clone3 refused with ENOSYS, arch_prctl on x86, an
    // old-style rule with empty conditions
    let mut plain: Vec<String> = p.syscalls[0].names.clone();
    plain.retain(|n| !["arch_prctl", "clone", "clone3"].contains(&n.as_str()));
    let base = profile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": plain, "action": "SCMP_ACT_ALLOW", "args": [], "includes": {}, "excludes": {}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
            {"names": ["clone", "clone3"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": CLONE_NS_MASK, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
             "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
        ]
    }));
    assert!(
        base.allowed().contains("mkdir"),
        "empty conditions are no conditions"
    );
    let (r, notes) = within(&p, &base).unwrap();
    let with_caps = |flags: u64| {
        let mut r = clone_rule(flags);
        r["includes"] = json!({"caps": ["CAP_SYS_ADMIN"]});
        r
    };
    let mut without = clone_rule(0);
    without["excludes"] = json!({"caps": ["CAP_SYS_ADMIN"]});
    assert_eq!(
        conditional(&r),
        json!([
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
            // clone without namespaces: the base's two ways
            with_caps(0),
            without,
            // a user namespace: only with CAP_SYS_ADMIN, as the base says
            with_caps(0x1000_0000),
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
        ])
    );
    assert_eq!(
        notes,
        [
            "arch_prctl: only as the base profile allows it (its conditions kept)",
            "clone: only as the base profile allows it (its conditions kept)",
        ]
    );
    // read back or merged with itself, nothing changes
    let v = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(load("r.json", &v).unwrap(), (r.clone(), vec![]));
    assert_eq!(
        merge(&[("r".into(), r.clone()), ("r2".into(), r.clone())])
            .unwrap()
            .0,
        r
    );
}

#[test]
fn within_conditions_one_rule_cannot_say_are_left_out() {
    let p = profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_LE"}]},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}));
    let base = profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}));
    let (r, notes) = within(&p, &base).unwrap();
    assert_eq!(
        rules(&r),
        json!([{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}])
    );
    assert_eq!(
        notes,
        [
            "socket: where the base's conditions and the profile's are on one argument, one rule cannot say both: those calls are left out",
            "personality: only as the base profile allows it (its conditions kept)",
        ]
    );
}

#[test]
fn other_documents_are_refused() {
    assert_eq!(
        load("x.json", &json!({"a": 1})).unwrap_err().to_string(),
        "x.json: neither a ctraudit summary nor a seccomp profile"
    );
    assert_eq!(
        load("x.json", &json!([1])).unwrap_err().to_string(),
        "x.json: neither a ctraudit summary nor a seccomp profile"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &["mkdir", "mknodat", "socket", "clone3", "unshare", "bind"];

    /// A summary from a subset of NAMES and some namespace clones.
    fn summaries() -> impl Strategy<Value = Value> {
        (
            proptest::sample::subsequence(NAMES, 0..NAMES.len()),
            proptest::collection::vec((0u64..8, any::<bool>()), 0..4),
        )
            .prop_map(|(names, clones)| {
                let privileged: Vec<Value> = clones
                    .iter()
                    .map(|(f, failed)| {
                        // three namespace bits of clone's mask
                        let flags = (f & 1) << 28 | (f & 2) << 29 | (f & 4) << 15;
                        priv_entry(
                            "clone",
                            "namespaces",
                            &format!("{flags:#x}"),
                            1,
                            *failed as u64,
                        )
                    })
                    .collect();
                with(&names, Value::Array(privileged), json!({}))
            })
    }

    proptest! {
        #[test]
        fn a_merge_allows_all_any_input_allows_and_reads_back_as_itself(
            ss in proptest::collection::vec(summaries(), 1..4)
        ) {
            let inputs: Vec<(String, Profile)> = ss
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("s{i}"), from_summary("s", s).unwrap().0))
                .collect();
            let (m, notes) = merge(&inputs).unwrap();
            prop_assert!(notes.is_empty());
            for (_, p) in &inputs {
                prop_assert!(m.allowed().is_superset(&p.allowed()));
                for r in p.syscalls.iter().filter(|r| r.action == Action::Allow) {
                    for n in &r.names {
                        prop_assert!(
                            m.rules_for(n).iter().any(|x| x.body() == r.body()) || m.allowed().contains(n),
                            "{n}: {r:?} lost"
                        );
                    }
                }
            }
            let v: Value = serde_json::from_str(&m.to_json()).unwrap();
            prop_assert_eq!(&load("m.json", &v).unwrap().0, &m);
            let again: Vec<(String, Profile)> = inputs.iter().cloned().chain(inputs.iter().cloned()).collect();
            prop_assert_eq!(merge(&again).unwrap().0, m);
        }
    }
}

/// The runtime-spec's `Arch` knows every libseccomp name profiles were
/// checked against before it was used, and writes each back as it was.
#[test]
fn every_libseccomp_architecture_reads_and_writes_back() {
    let names = [
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_PARISC",
        "SCMP_ARCH_PARISC64",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_LOONGARCH64",
        "SCMP_ARCH_M68K",
        "SCMP_ARCH_SH",
        "SCMP_ARCH_SHEB",
    ];
    let p = profile(json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": names}));
    assert_eq!(
        p.architectures
            .iter()
            .map(|a| arch_name(*a))
            .collect::<Vec<_>>(),
        names
    );
    assert_eq!(
        Profile::parse(
            "p.json",
            &json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_NATIVE"]})
        )
        .unwrap_err()
        .to_string(),
        "p.json: field `architectures[0]`: unknown architecture `SCMP_ARCH_NATIVE`"
    );
}
