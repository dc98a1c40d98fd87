//! `ctraudit ps`: one line per container audited now, from its meta file
//! and a live read of its maps (`crate::live::summary`): who it is, since when,
//! how much of each kind the audit holds, and whether the record is whole.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::escape;
use crate::config::Config;
use crate::live::{self, Audited};
use crate::summary::Summary;

/// One container's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub id: String,
    pub name: Option<String>,
    pub image: Option<String>,
    pub runtime: String,
    /// `running`, or `stopped` (not finalised yet: `ctraudit gc` will)
    pub state: String,
    /// When prestart registered it.
    pub up_since: String,
    /// Execs (each counted), and the distinct entries of the other kinds.
    pub execs: u64,
    pub files: u64,
    pub endpoints: u64,
    pub privileged: u64,
    pub alerts: u64,
    pub complete: bool,
    /// `complete`, `partial` or `missing`: how much of the kernel's record
    /// was read.
    pub kernel_data: String,
    /// The loss counters that are not zero.
    pub lost: BTreeMap<String, u64>,
}

/// The row of a container, from its live summary.
pub fn row(a: &Audited, s: &Summary) -> Row {
    let count = |n: usize| n as u64;
    Row {
        id: a.id.as_str().to_owned(),
        name: a.meta.name.clone(),
        image: a.meta.image.clone(),
        runtime: a.meta.runtime.clone(),
        state: s.state.clone(),
        up_since: a.meta.registered_at.clone(),
        execs: s.processes.execs,
        files: count(s.files.len()),
        endpoints: count(s.network.len()),
        privileged: count(s.privileged.len()),
        alerts: count(s.alerts.len()),
        complete: s.loss.complete,
        kernel_data: s.loss.kernel_data.clone(),
        lost: s
            .loss
            .counters()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.to_owned(), n))
            .collect(),
    }
}

/// Every container audited now, and the meta files that could not be read.
pub fn rows(cfg: &Config) -> (Vec<Row>, Vec<String>) {
    let (audited, problems) = live::audited(cfg);
    let rows = audited
        .iter()
        .map(|a| row(a, &live::summary(cfg, a)))
        .collect();
    (rows, problems)
}

/// The audit column: `complete`, or what made it not.
fn audit(r: &Row) -> String {
    if r.complete {
        return "complete".into();
    }
    let mut why: Vec<String> = r.lost.iter().map(|(k, n)| format!("{k} {n}")).collect();
    if r.kernel_data != "complete" {
        why.push(format!("kernel data {}", r.kernel_data));
    }
    if why.is_empty() {
        why.push("see `ctraudit report`".into());
    }
    format!("incomplete: {}", why.join(", "))
}

/// The widest a name or image is shown; longer ones end in `…`.
const MAX_WIDTH: usize = 40;

fn cell(s: Option<&str>) -> String {
    let s = escape::text(s.unwrap_or("-")).into_owned();
    if s.chars().count() > MAX_WIDTH {
        let mut cut: String = s.chars().take(MAX_WIDTH - 1).collect();
        cut.push('…');
        cut
    } else {
        s
    }
}

/// The rows as a table for a person, with a header; every string from a
/// container or its engine escaped.
pub fn table(rows: &[Row]) -> String {
    const HEAD: [&str; 12] = [
        "ID",
        "NAME",
        "IMAGE",
        "RUNTIME",
        "STATE",
        "UP SINCE",
        "EXECS",
        "FILES",
        "ENDPOINTS",
        "PRIVILEGED",
        "ALERTS",
        "AUDIT",
    ];
    let lines: Vec<[String; 12]> = rows
        .iter()
        .map(|r| {
            [
                r.id.chars().take(12).collect(),
                cell(r.name.as_deref()),
                cell(r.image.as_deref()),
                cell(Some(&r.runtime)),
                cell(Some(&r.state)),
                cell(Some(&r.up_since)),
                r.execs.to_string(),
                r.files.to_string(),
                r.endpoints.to_string(),
                r.privileged.to_string(),
                r.alerts.to_string(),
                audit(r),
            ]
        })
        .collect();
    let mut width = HEAD.map(|h| h.chars().count());
    for l in &lines {
        for (w, c) in width.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut push = |cells: &[String]| {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(c);
            if i + 1 < cells.len() {
                line.extend(std::iter::repeat_n(' ', width[i] - c.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push(&HEAD.map(str::to_owned));
    for l in &lines {
        push(l);
    }
    out
}

/// What `ps` prints with nothing audited.
pub const NONE: &str = "no container is audited now\n";

/// `ctraudit ps [--json]`: the table (or a JSON array of [`Row`]s) on
/// `out`; meta files that could not be read are returned, for stderr.
pub fn run(cfg: &Config, json: bool, out: &mut impl Write) -> anyhow::Result<Vec<String>> {
    let (rows, problems) = rows(cfg);
    let text = if json {
        let mut j = serde_json::to_string_pretty(&rows)?;
        j.push('\n');
        escape::json(&j).into_owned()
    } else if rows.is_empty() {
        NONE.to_owned()
    } else {
        table(&rows)
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| anyhow::anyhow!("cannot write the list: {e}"))?;
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, lost: &[(&str, u64)]) -> Row {
        Row {
            id: "0123456789abcdef".into(),
            name: Some(name.into()),
            image: None,
            runtime: "docker".into(),
            state: "running".into(),
            up_since: "2026-12-02T21:19:05.431Z".into(),
            execs: 7,
            files: 4,
            endpoints: 2,
            privileged: 1,
            alerts: 1,
            complete: lost.is_empty(),
            kernel_data: "complete".into(),
            lost: lost.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn the_table_has_one_aligned_line_per_container_and_escapes_names() {
        let t = table(&[r("web", &[]), r("evil\u{1b}[2J", &[("files_overflow", 3)])]);
        assert_eq!(
            t,
            "ID            NAME         IMAGE  RUNTIME  STATE    UP SINCE                  EXECS  FILES  ENDPOINTS  PRIVILEGED  ALERTS  AUDIT\n\
             0123456789ab  web          -      docker   running  2026-12-02T21:19:05.431Z  7      4      2          1           1       complete\n\
             0123456789ab  evil\\x1b[2J  -      docker   running  2026-12-02T21:19:05.431Z  7      4      2          1           1       incomplete: files_overflow 3\n"
        );
    }

    #[test]
    fn a_long_name_is_cut_and_marked() {
        let long = "n".repeat(50);
        let t = table(&[r(&long, &[])]);
        let shown = format!("{}…", "n".repeat(MAX_WIDTH - 1));
        assert!(
            t.lines().nth(1).unwrap().contains(&format!("  {shown}  ")),
            "{t}"
        );
    }
}
