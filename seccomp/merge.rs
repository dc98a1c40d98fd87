//! Profiles combined: the union of several (`--merge`), and a profile
//! within a base (`--base`). Both keep every rule's conditions and action
//! exactly, or refuse, or say what they left out; neither ever turns a
//! conditional rule into an unconditional one without saying so.

use std::collections::BTreeSet;

use super::profile::{arch_name, Action, Arg, Filter, Op, Profile, Rule};
use super::SeccompError;

/// Adds `r` to `rules`: into a rule with the same body if there is one
/// (its names added), else as a rule of its own.
fn push(rules: &mut Vec<Rule>, r: Rule) {
    match rules.iter_mut().find(|x| x.body() == r.body()) {
        Some(x) => {
            for n in r.names {
                if !x.names.contains(&n) {
                    x.names.push(n);
                }
            }
        }
        None => rules.push(r),
    }
}

/// The unconditional allow rule for `names` first (if any), then `rest`.
fn assemble(names: BTreeSet<String>, comments: Vec<String>, rest: Vec<Rule>) -> Vec<Rule> {
    let mut rules = Vec::new();
    if !names.is_empty() {
        let mut r = Rule::new(names.into_iter().collect(), Action::Allow, None);
        r.comment = (!comments.is_empty()).then(|| comments.join("; "));
        rules.push(r);
    }
    rules.extend(rest);
    rules
}

/// The comments of a profile's unconditional allow rules, which become
/// one rule in a merge.
fn allow_comments(p: &Profile, into: &mut Vec<String>) {
    for c in p
        .syscalls
        .iter()
        .filter(|r| r.allows_always())
        .filter_map(|r| r.comment.clone())
    {
        if !into.contains(&c) {
            into.push(c);
        }
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Whether the calls allow rule `y` lets through are all let through by
/// allow rule `x` too (same action; `x` asks no more than `y` does). A
/// rule has at most one condition per argument (`Profile::parse`), so
/// its conditions all hold together.
fn subsumes(x: &Rule, y: &Rule) -> bool {
    let wider = |a: &Filter, b: &Filter| {
        // an `includes` that asks less: its caps among b's, no arches or
        // more of them, no kernel or an older one
        a.caps.iter().all(|c| b.caps.contains(c))
            && (a.arches.is_empty()
                || (!b.arches.is_empty() && b.arches.iter().all(|x| a.arches.contains(x))))
            && a.min_kernel
                .is_none_or(|k| b.min_kernel.is_some_and(|m| m >= k))
    };
    let fewer = |a: &Filter, b: &Filter| {
        // an `excludes` that excludes less
        a.caps.iter().all(|c| b.caps.contains(c))
            && a.arches.iter().all(|x| b.arches.contains(x))
            && a.min_kernel
                .is_none_or(|k| b.min_kernel.is_some_and(|m| m <= k))
    };
    x.action == y.action
        && x.action.lets_run()
        && x.args.iter().all(|a| y.args.contains(a))
        && wider(&x.includes, &y.includes)
        && fewer(&x.excludes, &y.excludes)
}

/// One profile that runs every workload any of `inputs` (named by the
/// first of each pair) runs.
///
/// A name one input allows with no conditions is allowed so, and the
/// conditions others put on it are dropped with a note. Other rules are
/// kept as they are: allow rules side by side (their union), refusals
/// only where every input that names the syscall says the same. Profiles
/// that refuse by default in different ways, or for other architectures,
/// are not merged; nor are allow-by-default ones.
pub fn merge(inputs: &[(String, Profile)]) -> Result<(Profile, Vec<String>), SeccompError> {
    let Some(((first_what, first), rest)) = inputs.split_first() else {
        return Err(SeccompError::Refused("no profile to merge".into()));
    };
    if rest.is_empty() {
        return Ok((first.clone(), Vec::new()));
    }
    for (what, p) in inputs {
        if p.default_action.lets_run() {
            return Err(SeccompError::Field {
                what: what.clone(),
                field: "defaultAction".into(),
                message: format!(
                    "{} lets every call through: only profiles that refuse by default can be merged",
                    p.default_action.name()
                ),
            });
        }
    }
    for (what, p) in rest {
        let differ = |field: &str, here: String, there: String| SeccompError::Field {
            what: what.clone(),
            field: field.into(),
            message: format!("{here} here, {there} in {first_what}: not merged"),
        };
        let d = |p: &Profile| p.default_action.describe(p.default_errno_ret);
        if d(p) != d(first) {
            return Err(differ("defaultAction", d(p), d(first)));
        }
        let arches = |p: &Profile| {
            format!(
                "{:?}",
                sorted(p.architectures.iter().map(|a| arch_name(*a)).collect())
            )
        };
        if arches(p) != arches(first) {
            return Err(differ("architectures", arches(p), arches(first)));
        }
        if p.arch_map != first.arch_map {
            return Err(differ(
                "archMap",
                format!("{:?}", p.arch_map),
                format!("{:?}", first.arch_map),
            ));
        }
        if sorted(p.flags.clone()) != sorted(first.flags.clone()) {
            return Err(differ(
                "flags",
                format!("{:?}", p.flags),
                format!("{:?}", first.flags),
            ));
        }
        if (&p.listener_path, &p.listener_metadata)
            != (&first.listener_path, &first.listener_metadata)
        {
            return Err(differ(
                "listenerPath",
                format!("{:?}", p.listener_path),
                format!("{:?}", first.listener_path),
            ));
        }
    }

    let free: BTreeSet<String> = inputs.iter().flat_map(|(_, p)| p.allowed()).collect();
    let mut notes = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for (_, p) in inputs {
        for n in p.syscalls.iter().flat_map(|r| &r.names) {
            if !named.contains(n) {
                named.push(n.clone());
            }
        }
    }
    for name in &named {
        // each input's rules for the name, as a set of bodies
        let per: Vec<(&String, Vec<Rule>)> = inputs
            .iter()
            .map(|(what, p)| {
                let mut bodies: Vec<Rule> = p.rules_for(name).iter().map(Rule::body).collect();
                bodies.sort_by_key(|r| serde_json::to_string(r).unwrap_or_default());
                bodies.dedup();
                (what, bodies)
            })
            .filter(|(_, b)| !b.is_empty())
            .collect();
        if free.contains(name) {
            let by = inputs
                .iter()
                .find(|(_, p)| p.allowed().contains(name))
                .map(|(w, _)| w);
            let by = by.map_or("", |w| w.as_str());
            for (what, bodies) in &per {
                if what.as_str() == by || bodies.iter().all(Rule::allows_always) {
                    continue;
                }
                let refusals: Vec<String> = bodies
                    .iter()
                    .filter(|b| !b.action.lets_run())
                    .map(|b| b.action.describe(b.errno_ret))
                    .collect();
                notes.push(if refusals.is_empty() {
                    format!("{name}: {by} allows it with any arguments, so the conditions {what} puts on it are dropped")
                } else {
                    format!("{name}: {by} allows it with any arguments, so {what}'s refusal ({}) is dropped", refusals.join(", "))
                });
            }
            continue;
        }
        let all_allow = per
            .iter()
            .all(|(_, b)| b.iter().all(|r| r.action.lets_run()));
        if all_allow {
            continue;
        }
        if let Some(w) = per.windows(2).find(|w| w[0].1 != w[1].1) {
            return Err(SeccompError::Conflict {
                name: name.clone(),
                a: w[0].0.clone(),
                b: w[1].0.clone(),
            });
        }
    }

    let mut comments = Vec::new();
    let mut others: Vec<Rule> = Vec::new();
    for (_, p) in inputs {
        allow_comments(p, &mut comments);
        for r in p.syscalls.iter().filter(|r| !r.allows_always()) {
            let names: Vec<String> = r
                .names
                .iter()
                .filter(|n| !free.contains(*n))
                .cloned()
                .collect();
            if !names.is_empty() {
                push(&mut others, r.for_names(names));
            }
        }
    }
    // an allow rule that another allows a superset of adds nothing
    let wide = others.clone();
    for y in &mut others {
        let body = y.body();
        let wider = |n: &String| {
            wide.iter()
                .any(|x| x.body() != body && x.names.contains(n) && subsumes(x, &body))
        };
        y.names.retain(|n| !wider(n));
    }
    others.retain(|r| !r.names.is_empty());
    let profile = Profile {
        syscalls: assemble(free, comments, others),
        ..first.clone()
    };
    Ok((profile, notes))
}

/// What a base profile does with one syscall name.
enum Verdict {
    /// Lets it through, with no condition.
    Through,
    /// Lets it through only under its allow rules, and refuses it in its
    /// own way (an errno) under its other rules.
    Rules { allow: Vec<Rule>, refuse: Vec<Rule> },
    /// Refuses it.
    Blocked,
    /// Refuses it under conditions: a deny-by-default profile cannot say
    /// "everything but these".
    Unsayable,
}

fn verdict(base: &Profile, name: &str) -> Verdict {
    let rules = base.rules_for(name);
    let with_errno = |r: &&Rule| !r.action.lets_run() && r.errno_ret.is_some();
    if base.default_action.lets_run() {
        let refusing: Vec<&Rule> = rules.iter().filter(|r| !r.action.lets_run()).collect();
        if refusing.is_empty() {
            return Verdict::Through;
        }
        if refusing.iter().any(|r| r.conditional()) {
            return Verdict::Unsayable;
        }
        let refuse: Vec<Rule> = refusing.into_iter().filter(with_errno).cloned().collect();
        if refuse.is_empty() {
            return Verdict::Blocked;
        }
        return Verdict::Rules {
            allow: Vec::new(),
            refuse,
        };
    }
    if rules
        .iter()
        .any(|r| r.action.lets_run() && !r.conditional())
    {
        return Verdict::Through;
    }
    let allow: Vec<Rule> = rules
        .iter()
        .filter(|r| r.action.lets_run())
        .cloned()
        .collect();
    let refuse: Vec<Rule> = rules.iter().filter(with_errno).cloned().collect();
    if allow.is_empty() && refuse.is_empty() {
        return Verdict::Blocked;
    }
    Verdict::Rules { allow, refuse }
}

/// Two conditions on one argument, as one: `Ok(None)` when no value
/// meets both, `Err(())` when one rule cannot say both (runc adds a rule
/// with two conditions on one argument as two rules, so either would do).
fn both(a: &Arg, b: &Arg) -> Result<Option<Arg>, ()> {
    let implies = |x: &Arg, y: &Arg| match (x.op, y.op) {
        (Op::Eq, Op::Eq) => Some(x.value == y.value),
        (Op::Eq, Op::MaskedEq) => Some(x.value & y.value == y.value_two),
        (Op::MaskedEq, Op::MaskedEq) if x.value == y.value => Some(x.value_two == y.value_two),
        _ => None,
    };
    if a == b {
        return Ok(Some(a.clone()));
    }
    match (implies(a, b), implies(b, a)) {
        (Some(true), _) => Ok(Some(a.clone())),
        (_, Some(true)) => Ok(Some(b.clone())),
        (Some(false), _) | (_, Some(false)) => Ok(None),
        _ => Err(()),
    }
}

/// The rule for the calls both `p` (the profile's) and `b` (the base's)
/// allow: `Ok(None)` when there are none, `Err(())` when one rule cannot
/// say it.
fn intersect(p: &Rule, b: &Rule) -> Result<Option<Rule>, ()> {
    let mut args: Vec<Arg> = Vec::new();
    for a in p.args.iter().chain(&b.args) {
        match args.iter().position(|x| x.index == a.index) {
            None => args.push(a.clone()),
            Some(i) => match both(&args[i], a)? {
                Some(one) => args[i] = one,
                None => return Ok(None),
            },
        }
    }
    let union = |x: &[String], y: &[String]| {
        let mut u = x.to_vec();
        u.extend(y.iter().filter(|s| !x.contains(s)).cloned());
        u
    };
    let arches = match (p.includes.arches.is_empty(), b.includes.arches.is_empty()) {
        (true, _) => b.includes.arches.clone(),
        (_, true) => p.includes.arches.clone(),
        _ => {
            let common: Vec<String> = p
                .includes
                .arches
                .iter()
                .filter(|a| b.includes.arches.contains(a))
                .cloned()
                .collect();
            if common.is_empty() {
                return Ok(None);
            }
            common
        }
    };
    let includes = Filter {
        caps: union(&p.includes.caps, &b.includes.caps),
        arches,
        min_kernel: p.includes.min_kernel.max(b.includes.min_kernel),
    };
    let excludes = Filter {
        caps: union(&p.excludes.caps, &b.excludes.caps),
        arches: union(&p.excludes.arches, &b.excludes.arches),
        min_kernel: match (p.excludes.min_kernel, b.excludes.min_kernel) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        },
    };
    let never = includes.caps.iter().any(|c| excludes.caps.contains(c))
        || (!includes.arches.is_empty()
            && includes.arches.iter().all(|a| excludes.arches.contains(a)))
        || matches!((includes.min_kernel, excludes.min_kernel), (Some(i), Some(e)) if e <= i);
    if never {
        return Ok(None);
    }
    Ok(Some(Rule {
        args,
        includes,
        excludes,
        comment: p.comment.clone().or_else(|| b.comment.clone()),
        ..p.clone()
    }))
}

/// `profile` without what `base` blocks. A name the base allows only
/// under conditions (Docker's default: clone without namespace flags,
/// arch_prctl on x86) takes the base's conditions too, with the
/// profile's own; one it refuses in its own way (clone3 with ENOSYS)
/// takes the base's refusal.
pub fn within(profile: &Profile, base: &Profile) -> Result<(Profile, Vec<String>), SeccompError> {
    if profile.default_action.lets_run() {
        return Err(SeccompError::Refused(format!(
            "--base: the profile lets every call through by default ({}): there is nothing to keep within the base",
            profile.default_action.name()
        )));
    }
    let mut kept = BTreeSet::new();
    let mut others: Vec<Rule> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut note = |n: String| {
        if !notes.contains(&n) {
            notes.push(n);
        }
    };
    for r in &profile.syscalls {
        if !r.action.lets_run() {
            // the profile's own refusals stand whatever the base does
            push(&mut others, r.clone());
            continue;
        }
        for name in &r.names {
            let (allow, refuse) = match verdict(base, name) {
                Verdict::Through => {
                    if r.allows_always() {
                        kept.insert(name.clone());
                    } else {
                        push(&mut others, r.for_names(vec![name.clone()]));
                    }
                    continue;
                }
                Verdict::Blocked => {
                    note(format!("{name}: blocked by the base profile, left out"));
                    continue;
                }
                Verdict::Unsayable => {
                    note(format!(
                        "{name}: the base profile refuses it only under conditions, which a profile that refuses by default cannot say: left out"
                    ));
                    continue;
                }
                Verdict::Rules { allow, refuse } => (allow, refuse),
            };
            let mut got = Vec::new();
            let mut unsayable = false;
            let one = r.for_names(vec![name.clone()]);
            for b in &allow {
                match intersect(&one, b) {
                    Ok(Some(x)) => got.push(x),
                    Ok(None) => {}
                    Err(()) => unsayable = true,
                }
            }
            if got.is_empty() && refuse.is_empty() && !unsayable {
                note(format!("{name}: blocked by the base profile, left out"));
                continue;
            }
            if !got.is_empty() || !refuse.is_empty() {
                note(format!(
                    "{name}: only as the base profile allows it (its conditions kept)"
                ));
            }
            if unsayable {
                note(format!(
                    "{name}: where the base's conditions and the profile's are on one argument, one rule cannot say both: those calls are left out"
                ));
            }
            for x in got.into_iter().chain(refuse) {
                push(&mut others, x);
            }
        }
    }
    let mut comments = Vec::new();
    allow_comments(profile, &mut comments);
    let result = Profile {
        syscalls: assemble(kept, comments, others),
        ..profile.clone()
    };
    Ok((result, notes))
}
