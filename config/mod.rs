//! Operator configuration: `/etc/ctraudit/config.toml`, defaults embedded from
//! `config/default.toml` (which documents every key), roots overridable per
//! run so tests and a second install never touch the real ones.

pub mod paths;
pub mod redact;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use paths::Layout;

/// The commented default configuration, installed as the conffile.
pub const DEFAULT_TOML: &str = include_str!("default.toml");
/// Where the operator's configuration lives unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/ctraudit/config.toml";
/// config.toml larger than this is refused unread (the default file, every
/// key commented, is 5 KiB).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {field}: {message}")]
    Invalid {
        path: PathBuf,
        field: &'static str,
        message: String,
    },
}

pub type Result<T> = std::result::Result<T, ConfigError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    Allow,
    Deny,
}

impl OnError {
    /// What becomes of a container start that will not be audited, as the
    /// hook, the wrappers and `failures.jsonl` word it.
    pub fn verdict(self) -> &'static str {
        match self {
            OnError::Allow => "container runs unaudited (on_error = \"allow\")",
            OnError::Deny => "container start refused (on_error = \"deny\")",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub on_error: OnError,
    /// Unload the global programs when the last audited container stops.
    pub detach_when_idle: bool,
    pub syslog: bool,
    /// Datagram socket of the syslog daemon; None tries /dev/log,
    /// /var/run/syslog and /var/run/log.
    pub syslog_socket: Option<PathBuf>,
    pub paths: Paths,
    pub limits: Limits,
    pub hooks: Hooks,
    pub runtime: Runtime,
    pub docker: Docker,
    pub containerd: Containerd,
    pub exclude: Exclude,
    pub redact: Redact,
}

/// The real containerd shim `containerd-shim-ctraudit-v2` hands over to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Containerd {
    /// Unset: containerd-shim-runc-v2 from PATH, /usr/bin, /usr/local/bin, ...
    pub shim: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    pub bpffs: PathBuf,
    pub run: PathBuf,
    pub log: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_containers: u32,
    pub execs: u32,
    pub files: u32,
    pub network: u32,
    pub privileged: u32,
    /// Kernel memory the sets of one container may take, in MiB.
    pub kernel_memory_mib: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hooks {
    pub lock_timeout_ms: u64,
    pub deadline_ms: u64,
    /// The stage the wrappers inject: prestart or createRuntime.
    #[serde(deserialize_with = "registering_stage")]
    pub stage: Stage,
    /// Seconds the runtime gives each injected hook.
    pub timeout: u32,
}

/// A hook stage: what `ctraudit hook <stage>` runs, and (prestart or
/// createRuntime only) the `hooks.stage` the wrappers inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    Poststop,
}

impl Stage {
    /// A stage name; `auto` (None) takes the stage from the state's status,
    /// for hooks.d files that list several stages with the same arguments.
    pub fn parse(s: &str) -> std::result::Result<Option<Stage>, String> {
        match s {
            "prestart" => Ok(Some(Stage::Prestart)),
            "createRuntime" => Ok(Some(Stage::CreateRuntime)),
            "poststop" => Ok(Some(Stage::Poststop)),
            "auto" => Ok(None),
            _ => Err(format!(
                "hook stage {s:?}: unknown (expected prestart, createRuntime, poststop or auto)"
            )),
        }
    }

    /// The stage a state's status means: runc passes `creating` to
    /// prestart/createRuntime hooks and `stopped` to poststop hooks.
    pub fn of_status(status: &str) -> Option<Stage> {
        match status {
            "creating" | "created" => Some(Stage::Prestart),
            "stopped" => Some(Stage::Poststop),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::Poststop => "poststop",
        }
    }
}

/// `hooks.stage`: only a stage that registers the container, worded as
/// serde words an unknown variant.
fn registering_stage<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Stage, D::Error> {
    const NAMES: &[&str] = &["prestart", "createRuntime"];
    let s = String::deserialize(d)?;
    match s.as_str() {
        "prestart" => Ok(Stage::Prestart),
        "createRuntime" => Ok(Stage::CreateRuntime),
        _ => Err(serde::de::Error::unknown_variant(&s, NAMES)),
    }
}

/// The real OCI runtime `ctraudit-runc` hands over to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Runtime {
    /// Empty: the first runc in /usr/bin, /usr/sbin, /usr/local/bin, /usr/local/sbin.
    pub path: Option<PathBuf>,
}

/// Where Docker keeps container metadata (name, image).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Docker {
    pub data_root: PathBuf,
}

impl Default for Docker {
    fn default() -> Self {
        Docker {
            data_root: "/var/lib/docker".into(),
        }
    }
}

/// Containers that are never audited, by glob pattern (`*`, `?`, `[...]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Exclude {
    /// Container names (Docker's, without the leading '/'; Kubernetes' container name).
    pub names: Vec<String>,
    /// Image references as given (`busybox:latest`, `registry/app:*`).
    pub images: Vec<String>,
}

/// Secrets on command lines (config/redact.rs): their values are replaced by
/// `<redacted>` before a command line is written anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Redact {
    /// Options whose value follows `=` or comes as the next argument.
    pub options: Vec<String>,
    /// `NAME=value` arguments whose NAME matches (glob, any case).
    pub assignments: Vec<String>,
    /// `Name: value` headers (curl -H).
    pub headers: Vec<String>,
}

impl Default for Redact {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        Redact {
            options: v(&[
                "--password",
                "--passwd",
                "--pass",
                "--token",
                "--secret",
                "--api-key",
                "--apikey",
                "--access-key",
                "--secret-key",
                "--client-secret",
                "--auth-token",
                "--private-key",
            ]),
            assignments: v(&[
                "*PASSWORD*",
                "*PASSWD*",
                "*SECRET*",
                "*TOKEN*",
                "*_KEY",
                "*APIKEY*",
                "*CREDENTIAL*",
            ]),
            headers: v(&[
                "Authorization",
                "Proxy-Authorization",
                "Cookie",
                "X-Api-Key",
                "X-Auth-Token",
            ]),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            on_error: OnError::Allow,
            detach_when_idle: true,
            syslog: true,
            syslog_socket: None,
            paths: Paths::default(),
            limits: Limits::default(),
            hooks: Hooks::default(),
            runtime: Runtime::default(),
            docker: Docker::default(),
            containerd: Containerd::default(),
            exclude: Exclude::default(),
            redact: Redact::default(),
        }
    }
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            bpffs: "/sys/fs/bpf".into(),
            run: "/run/ctraudit".into(),
            log: "/var/log/ctraudit".into(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_containers: 1024,
            execs: 512,
            files: 1024,
            network: 256,
            privileged: 256,
            kernel_memory_mib: 16,
        }
    }
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            lock_timeout_ms: 4_000,
            deadline_ms: 8_000,
            stage: Stage::Prestart,
            timeout: 10,
        }
    }
}

/// Roots given on the command line or in the environment; they win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub bpffs: Option<PathBuf>,
    pub run: Option<PathBuf>,
    pub log: Option<PathBuf>,
}

/// The configuration as the hook and the wrappers see it: a broken file is
/// not fatal by itself; `on_error`, salvaged from the broken file, decides.
pub struct HookConfig {
    pub config: Config,
    pub error: Option<ConfigError>,
}

impl HookConfig {
    pub fn load(path: &Path, explicit: bool, overrides: &Overrides) -> HookConfig {
        let (mut config, mut error) = match Config::load(path, explicit) {
            Ok(c) => (c, None),
            // what the file says about how to fail still holds: a config
            // that says `on_error = "deny"` denies even when it is broken
            Err(e) => (salvage_file(path), Some(e)),
        };
        if let Err(e) = config.apply(overrides) {
            error.get_or_insert(e);
        }
        HookConfig { config, error }
    }
}

impl Config {
    /// The configuration of a command run by a person (`gc`, `report`,
    /// `seccomp`, `install`): a broken file or override is refused, so
    /// nobody acts on defaults they did not ask for; a missing file at the
    /// default location means all defaults (`load`). The hook and the
    /// wrappers salvage instead ([`HookConfig`]).
    pub fn load_cli(path: &Path, explicit: bool, overrides: &Overrides) -> Result<Config> {
        let mut cfg = Config::load(path, explicit)?;
        cfg.apply(overrides)?;
        Ok(cfg)
    }

    /// Reads `path`. A missing file at the default location means "all
    /// defaults"; a missing file that was named explicitly is an error.
    pub fn load(path: &Path, explicit: bool) -> Result<Config> {
        match crate::sys::file::read_regular(path, MAX_CONFIG_BYTES) {
            Ok((bytes, _)) => Config::parse(path, &utf8(path, &bytes)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let de = toml::Deserializer::parse(text).map_err(|e| parse_error(path, text, &e, ""))?;
        // the path of the offending key, for errors serde words without it
        // ("wanted string or table", "expected u32")
        let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            parse_error(path, text, e.inner(), &field)
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Roots from the command line or the environment win over the file,
    /// held to the file's rule: absolute paths only (a hook's working
    /// directory is the bundle, so a relative root would write there).
    pub fn apply(&mut self, o: &Overrides) -> Result<()> {
        for (field, flag, given, into) in [
            (
                "paths.bpffs",
                "--bpffs-root/CTRAUDIT_BPFFS_ROOT",
                &o.bpffs,
                &mut self.paths.bpffs,
            ),
            (
                "paths.run",
                "--run-root/CTRAUDIT_RUN_ROOT",
                &o.run,
                &mut self.paths.run,
            ),
            (
                "paths.log",
                "--log-root/CTRAUDIT_LOG_ROOT",
                &o.log,
                &mut self.paths.log,
            ),
        ] {
            if let Some(p) = given {
                absolute(Path::new(flag), field, p)?;
                *into = p.clone();
            }
        }
        Ok(())
    }

    pub fn layout(&self) -> Layout {
        Layout::new(&self.paths.bpffs, &self.paths.run, &self.paths.log)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let invalid = |field, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            field,
            message,
        };
        for (field, p) in [
            ("paths.bpffs", &self.paths.bpffs),
            ("paths.run", &self.paths.run),
            ("paths.log", &self.paths.log),
        ] {
            absolute(path, field, p)?;
        }
        let l = &self.limits;
        for (field, v, max) in [
            ("limits.max_containers", l.max_containers, 65_536),
            ("limits.execs", l.execs, 1 << 20),
            ("limits.files", l.files, 1 << 20),
            ("limits.network", l.network, 1 << 20),
            ("limits.privileged", l.privileged, 1 << 20),
        ] {
            if v == 0 || v > max {
                return Err(invalid(field, format!("{v} is out of range 1..={max}")));
            }
        }
        // sets so large they would pin gigabytes per container (and take
        // seconds to create at prestart, against its deadline)
        let need = crate::abi::kernel_bytes(l.execs, l.files, l.network, l.privileged);
        let budget = u64::from(l.kernel_memory_mib) << 20;
        if l.kernel_memory_mib == 0 || need > budget {
            return Err(invalid(
                "limits",
                format!(
                    "the sets of one container would take {} MiB of kernel memory (execs {}, files {}, network {}, privileged {}), \
                     more than limits.kernel_memory_mib = {}: lower the set sizes or raise the budget",
                    need.div_ceil(1 << 20),
                    l.execs,
                    l.files,
                    l.network,
                    l.privileged,
                    l.kernel_memory_mib
                ),
            ));
        }
        if self.docker.data_root.is_relative() {
            return Err(invalid(
                "docker.data_root",
                format!(
                    "{} is not an absolute path",
                    self.docker.data_root.display()
                ),
            ));
        }
        if let Some(p) = &self.containerd.shim {
            if p.is_relative() {
                return Err(invalid(
                    "containerd.shim",
                    format!("{} is not an absolute path", p.display()),
                ));
            }
        }
        if let Some(p) = &self.runtime.path {
            if p.is_relative() {
                return Err(invalid(
                    "runtime.path",
                    format!("{} is not an absolute path", p.display()),
                ));
            }
        }
        for (field, pats) in [
            ("exclude.names", &self.exclude.names),
            ("exclude.images", &self.exclude.images),
            ("redact.assignments", &self.redact.assignments),
        ] {
            for pat in pats {
                if let Err(e) = glob::Pattern::new(pat) {
                    return Err(invalid(field, format!("{pat:?}: {e}")));
                }
            }
        }
        let h = &self.hooks;
        if u64::from(h.timeout) * 1000 <= h.deadline_ms {
            return Err(invalid(
                "hooks.timeout",
                format!(
                    "{} s must be longer than hooks.deadline_ms ({} ms): the hook must give up before the runtime kills it",
                    h.timeout, h.deadline_ms
                ),
            ));
        }
        if h.lock_timeout_ms == 0 || h.lock_timeout_ms >= h.deadline_ms {
            return Err(invalid(
                "hooks.lock_timeout_ms",
                format!(
                    "{} must be at least 1 and below hooks.deadline_ms ({})",
                    h.lock_timeout_ms, h.deadline_ms
                ),
            ));
        }
        Ok(())
    }
}

/// `path: field: X is not an absolute path` unless `p` is absolute.
fn absolute(path: &Path, field: &'static str, p: &Path) -> Result<()> {
    if p.is_absolute() {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        path: path.to_owned(),
        field,
        message: format!("{} is not an absolute path", p.display()),
    })
}

/// The text of config.toml, or where it stops being UTF-8.
fn utf8(path: &Path, bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        ConfigError::Parse {
            path: path.to_owned(),
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column: at
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                + 1,
            message: format!("not UTF-8 (byte {:#04x})", bytes[at]),
        }
    })
}

/// [`salvage`] of whatever of `path` can be read: the first
/// `MAX_CONFIG_BYTES` of a regular file, with bytes that are not UTF-8
/// replaced, so a file that says `on_error = "deny"` fails closed even
/// when it is broken, too big or not UTF-8.
pub fn salvage_file(path: &Path) -> Config {
    use std::io::Read;
    let mut bytes = Vec::new();
    let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
    if regular {
        if let Ok(f) = std::fs::File::open(path) {
            let _ = f.take(MAX_CONFIG_BYTES).read_to_end(&mut bytes);
        }
    }
    salvage(&String::from_utf8_lossy(&bytes))
}

/// What a file that failed to load still says about how to fail: the
/// valid top-level keys among `on_error`, `syslog`, `syslog_socket` and
/// `[paths]`, each taken on its own, defaults for the rest. A file that is
/// not even TOML is scanned for `on_error = "deny"`, so it fails closed.
pub fn salvage(text: &str) -> Config {
    let mut c = Config::default();
    let Ok(table) = text.parse::<toml::Table>() else {
        if on_error_line_says_deny(text) {
            c.on_error = OnError::Deny;
        }
        return c;
    };
    fn take<T: serde::de::DeserializeOwned>(t: &toml::Table, key: &str, into: &mut T) {
        if let Some(v) = t.get(key).and_then(|v| v.clone().try_into().ok()) {
            *into = v;
        }
    }
    take(&table, "on_error", &mut c.on_error);
    take(&table, "syslog", &mut c.syslog);
    take(&table, "syslog_socket", &mut c.syslog_socket);
    if let Some(toml::Value::Table(r)) = table.get("runtime") {
        take(r, "path", &mut c.runtime.path);
    }
    if let Some(toml::Value::Table(p)) = table.get("paths") {
        for (key, into) in [
            ("bpffs", &mut c.paths.bpffs),
            ("run", &mut c.paths.run),
            ("log", &mut c.paths.log),
        ] {
            let mut v: PathBuf = into.clone();
            take(p, key, &mut v);
            if v.is_absolute() {
                *into = v;
            }
        }
    }
    c
}

fn on_error_line_says_deny(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.split('#').next().unwrap_or("").replace(' ', "");
        line == "on_error=\"deny\"" || line == "on_error='deny'"
    })
}

fn parse_error(path: &Path, text: &str, e: &toml::de::Error, field: &str) -> ConfigError {
    let (line, column) = e
        .span()
        .map_or((1, 1), |s| crate::sys::text::line_column(text, s.start));
    let mut message = e.message().trim().replace('\n', " ");
    // toml says "duplicate key" without the key: its span has it
    if message == "duplicate key" {
        if let Some(key) = e.span().and_then(|s| text.get(s)) {
            message = format!("duplicate key `{}`", key.trim());
        }
    }
    if let Some(hint) = did_you_mean(&message) {
        message.push_str(&format!(" (did you mean `{hint}`?)"));
    }
    // the key's path, which serde's own words often leave out; a message
    // that names the key itself (an unknown field) gets its table instead
    let field = field.trim_start_matches('.');
    let (table, key) = field.rsplit_once('.').unwrap_or(("", field));
    let at = if message.contains(&format!("`{key}`")) {
        table
    } else {
        field
    };
    if !at.is_empty() {
        message = format!("{at}: {message}");
    }
    ConfigError::Parse {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// serde reports "unknown field `x`, expected one of `a`, `b`": pick the
/// expected name closest to the typo.
fn did_you_mean(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (typo, expected) = rest.split_once('`')?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| (edit_distance(typo, cand), cand))
        .filter(|(d, cand)| *d <= cand.len().max(typo.len()) / 2)
        .min()
        .map(|(_, c)| c.to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl crate::sys::log::Target for Config {
    fn syslog_enabled(&self) -> bool {
        self.syslog
    }
    fn syslog_socket(&self) -> Option<&std::path::Path> {
        self.syslog_socket.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("config.toml"), text)
    }

    #[test]
    fn embedded_default_file_is_the_default() {
        assert_eq!(parse(DEFAULT_TOML).unwrap(), Config::default());
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = parse("on_error = \"deny\"\n[limits]\nfiles = 64\n").unwrap();
        assert_eq!(c.on_error, OnError::Deny);
        assert_eq!(c.limits.files, 64);
        assert_eq!(c.limits.execs, Limits::default().execs);
    }

    #[test]
    fn unknown_field_is_named_with_position_and_hint() {
        let e = parse("on_error = \"allow\"\n[limits]\nfiels = 3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config.toml:3:1: limits: unknown field `fiels`, expected one of `max_containers`, \
             `execs`, `files`, `network`, `privileged`, `kernel_memory_mib` (did you mean `files`?)"
        );
    }

    #[test]
    fn bad_enum_value_is_named() {
        assert_eq!(
            parse("on_error = \"maybe\"\n").unwrap_err().to_string(),
            "config.toml:1:12: on_error: unknown variant `maybe`, expected `allow` or `deny`"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        for (text, want) in [
            (
                "[limits]\nfiles = \"lots\"\n",
                "config.toml:2:9: limits.files: invalid type: string \"lots\", expected u32",
            ),
            (
                "on_error = true\n",
                "config.toml:1:12: on_error: wanted string or table",
            ),
            (
                "syslog = \"yes\"\n",
                "config.toml:1:10: syslog: invalid type: string \"yes\", expected a boolean",
            ),
            (
                "[exclude]\nnames = \"x\"\n",
                "config.toml:2:9: exclude.names: invalid type: string \"x\", expected a sequence",
            ),
        ] {
            assert_eq!(parse(text).unwrap_err().to_string(), want, "{text}");
        }
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_where_it_stops_being_so_and_still_denies() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, b"on_error = \"deny\"\n# caf\xe9\n").unwrap();
        assert_eq!(
            Config::load(&p, true).unwrap_err().to_string(),
            format!("{}:2:6: not UTF-8 (byte 0xe9)", p.display())
        );
        assert_eq!(salvage_file(&p).on_error, OnError::Deny);
    }

    #[test]
    fn what_is_not_a_regular_file_or_too_big_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.toml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(
            Config::load(&fifo, true).unwrap_err().to_string(),
            format!(
                "{}: cannot read: a FIFO, not a regular file: not read",
                fifo.display()
            )
        );
        assert_eq!(salvage_file(&fifo), Config::default());
        let big = dir.path().join("big.toml");
        let mut text = "on_error = \"deny\"\n".to_owned();
        text.push_str(&"#".repeat(MAX_CONFIG_BYTES as usize));
        std::fs::write(&big, &text).unwrap();
        assert_eq!(
            Config::load(&big, true).unwrap_err().to_string(),
            format!(
                "{}: cannot read: larger than 1 MiB, the most read of it",
                big.display()
            )
        );
        assert_eq!(salvage_file(&big).on_error, OnError::Deny, "fails closed");
        assert_eq!(
            Config::load(Path::new("/dev/zero"), true)
                .unwrap_err()
                .to_string(),
            "/dev/zero: cannot read: a character device, not a regular file: not read"
        );
    }

    #[test]
    fn out_of_range_and_relative_paths_are_refused() {
        assert_eq!(
            parse("[limits]\nexecs = 0\n").unwrap_err().to_string(),
            "config.toml: limits.execs: 0 is out of range 1..=1048576"
        );
        assert_eq!(
            parse("[paths]\nlog = \"logs\"\n").unwrap_err().to_string(),
            "config.toml: paths.log: logs is not an absolute path"
        );
        assert_eq!(
            parse("[hooks]\ntimeout = 5\n").unwrap_err().to_string(),
            "config.toml: hooks.timeout: 5 s must be longer than hooks.deadline_ms (8000 ms): \
             the hook must give up before the runtime kills it"
        );
        assert_eq!(
            parse("[exclude]\nnames = [\"a[\"]\n").unwrap_err().to_string(),
            "config.toml: exclude.names: \"a[\": Pattern syntax error near position 1: invalid range pattern"
        );
        assert_eq!(
            parse("[hooks]\nstage = \"poststart\"\n")
                .unwrap_err()
                .to_string(),
            "config.toml:2:9: hooks.stage: unknown variant `poststart`, expected `prestart` or `createRuntime`"
        );
        assert_eq!(
            parse("[hooks]\nlock_timeout_ms = 9000\n").unwrap_err().to_string(),
            "config.toml: hooks.lock_timeout_ms: 9000 must be at least 1 and below hooks.deadline_ms (8000)"
        );
    }

    #[test]
    fn sets_beyond_the_kernel_memory_budget_are_refused_with_their_size() {
        assert_eq!(
            parse("[limits]\nexecs = 1048576\nfiles = 1048576\nnetwork = 1048576\nprivileged = 1048576\n")
                .unwrap_err()
                .to_string(),
            "config.toml: limits: the sets of one container would take 1481 MiB of kernel memory \
             (execs 1048576, files 1048576, network 1048576, privileged 1048576), more than \
             limits.kernel_memory_mib = 16: lower the set sizes or raise the budget"
        );
        // the same sets fit a budget that says so
        let c = parse("[limits]\nfiles = 50000\nkernel_memory_mib = 32\n").unwrap();
        assert_eq!(c.limits.files, 50000);
        assert!(parse("[limits]\nfiles = 50000\n").is_err());
        assert_eq!(
            crate::abi::kernel_bytes(512, 1024, 256, 256) / 1024,
            796,
            "the defaults: the bench reads 829 KiB of bytes_memlock"
        );
    }

    /// Any text, and the default file cut or altered anywhere: a parse or a
    /// salvage never panics, and every error is one line.
    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_text_parses_or_fails_in_one_line(text in "\\PC{0,200}") {
                if let Err(e) = parse(&text) {
                    prop_assert!(!e.to_string().contains('\n'), "{}", e);
                }
                let _ = salvage(&text);
            }

            #[test]
            fn the_default_file_cut_anywhere_parses_or_fails_in_one_line(
                cut in 0..DEFAULT_TOML.len()
            ) {
                let text = DEFAULT_TOML.get(..cut).unwrap_or("");
                if let Err(e) = parse(text) {
                    prop_assert!(!e.to_string().contains('\n'), "{}", e);
                }
            }

            #[test]
            fn any_key_and_value_in_any_table_fails_naming_it(
                table in prop_oneof![Just(""), Just("[limits]\n"), Just("[hooks]\n"), Just("[paths]\n"), Just("[exclude]\n")],
                key in "[a-z_]{1,16}",
                value in prop_oneof![Just("1".to_owned()), Just("-1".to_owned()), Just("true".to_owned()), Just("\"x\"".to_owned()), Just("[1]".to_owned()), Just("{a=1}".to_owned()), "[0-9]{1,12}"],
            ) {
                let text = format!("{table}{key} = {value}\n");
                if let Err(e) = parse(&text) {
                    let e = e.to_string();
                    prop_assert!(!e.contains('\n'), "{}", e);
                    prop_assert!(e.starts_with("config.toml"), "{}", e);
                }
            }
        }
    }

    #[test]
    fn errors_are_one_line() {
        for bad in [
            "x = [",
            "[paths]\nbpffs = 3",
            "on_error = \"allow\"\non_error = \"deny\"",
        ] {
            let e = parse(bad).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e:?}");
        }
    }

    #[test]
    fn missing_default_file_means_defaults_but_explicit_missing_is_an_error() {
        let p = Path::new("/nonexistent/ctraudit/config.toml");
        assert_eq!(Config::load(p, false).unwrap(), Config::default());
        let e = Config::load(p, true).unwrap_err().to_string();
        assert!(
            e.starts_with("/nonexistent/ctraudit/config.toml: cannot read"),
            "{e}"
        );
    }

    #[test]
    fn broken_file_keeps_how_to_fail() {
        let c = salvage("on_error = \"deny\"\nsyslog_socket = \"/tmp/s\"\n[limits]\nfiels = 3\n");
        assert_eq!(c.on_error, OnError::Deny);
        assert_eq!(c.syslog_socket, Some(PathBuf::from("/tmp/s")));
        assert_eq!(c.limits, Limits::default());
        let c = salvage("on_error = 3\n[paths]\nlog = \"/l\"\nrun = \"rel\"\n");
        assert_eq!(c.on_error, OnError::Allow);
        assert_eq!(c.paths.log, PathBuf::from("/l"));
        assert_eq!(
            c.paths.run,
            PathBuf::from("/run/ctraudit"),
            "invalid values keep defaults"
        );
        // not TOML at all
        assert_eq!(salvage("on_error = \"deny\"\n[x\n").on_error, OnError::Deny);
        assert_eq!(
            salvage("# on_error = \"deny\"\n[x\n").on_error,
            OnError::Allow
        );
        assert_eq!(salvage("[x\n").on_error, OnError::Allow);
    }

    #[test]
    fn overrides_win() {
        let mut c = Config::default();
        c.apply(&Overrides {
            log: Some("/tmp/l".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.paths.log, PathBuf::from("/tmp/l"));
        assert_eq!(c.paths.run, PathBuf::from("/run/ctraudit"));
    }

    #[test]
    fn relative_overrides_are_refused_as_in_the_file() {
        let mut c = Config::default();
        let e = c
            .apply(&Overrides {
                log: Some("rellog".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--log-root/CTRAUDIT_LOG_ROOT: paths.log: rellog is not an absolute path"
        );
        assert_eq!(
            c.paths.log,
            PathBuf::from("/var/log/ctraudit"),
            "not applied"
        );
    }
}
