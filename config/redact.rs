//! Secrets on command lines: `--password=...` and kin are replaced before a
//! command line is written anywhere (the meta under /run, summary.json,
//! syslog). The rules are config.toml's `[redact]`; a URL's password is
//! always redacted. The kernel's copy, in the container's own maps, lives no
//! longer than the container.

use crate::config::Redact;

/// What a secret is replaced by.
pub const REDACTED: &str = "<redacted>";

/// `args` with every secret the rules know replaced, and whether any was.
pub fn args(rules: &Redact, args: &[String]) -> (Vec<String>, bool) {
    let mut out = Vec::with_capacity(args.len());
    let mut any = false;
    // an option given alone (`--password`) takes the next token as its value,
    // within the same argument or, at its end, the next argument
    let mut value_next = false;
    for arg in args {
        let (text, changed, pending) = one(rules, arg, value_next);
        any |= changed;
        value_next = pending;
        out.push(text);
    }
    (out, any)
}

/// One argument, token by token (an argument may hold a whole shell
/// command: `sh -c "mysql --password=x"`). Returns the text, whether it
/// changed, and whether an option at its end awaits its value.
fn one(rules: &Redact, arg: &str, mut value_next: bool) -> (String, bool, bool) {
    let mut out = String::with_capacity(arg.len());
    let mut changed = false;
    for (token, sep) in tokens(arg) {
        if value_next {
            value_next = false;
            out.push_str(REDACTED);
            out.push_str(sep);
            changed = true;
            continue;
        }
        match token_text(rules, token, &mut value_next) {
            Token::Kept => out.push_str(token),
            Token::Redacted(text) => {
                changed = true;
                out.push_str(&text);
            }
            Token::HeaderRest(text) => {
                // a header's value is the rest of its argument
                out.push_str(&text);
                return (out, true, false);
            }
        }
        out.push_str(sep);
    }
    (out, changed, value_next)
}

enum Token {
    Kept,
    Redacted(String),
    /// The token names a header: it and a redacted value end the argument.
    HeaderRest(String),
}

fn token_text(rules: &Redact, token: &str, value_next: &mut bool) -> Token {
    // inside a shell command a token may open with a quote: match after it
    let quote = token.len() - token.trim_start_matches(['\'', '"']).len();
    let (open, core) = token.split_at(quote);
    let lower = core.to_ascii_lowercase();
    for opt in &rules.options {
        let opt = opt.to_ascii_lowercase();
        if lower.trim_end_matches(['\'', '"']) == opt {
            *value_next = true;
            return Token::Kept;
        }
        if lower.starts_with(&format!("{opt}=")) {
            return Token::Redacted(format!("{open}{}={REDACTED}", &core[..opt.len()]));
        }
    }
    for header in &rules.headers {
        let name = format!("{}:", header.to_ascii_lowercase());
        if let Some(value) = lower.strip_prefix(&name) {
            let head = &core[..name.len()];
            return if value.trim_end_matches(['\'', '"']).is_empty() {
                Token::HeaderRest(format!("{open}{head} {REDACTED}"))
            } else {
                Token::Redacted(format!("{open}{head}{REDACTED}"))
            };
        }
    }
    if let Some((name, _)) = core.split_once('=') {
        let plain = name.trim_start_matches('-');
        let is_name = !plain.is_empty()
            && plain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if is_name
            && rules.assignments.iter().any(|p| {
                glob::Pattern::new(&p.to_ascii_uppercase())
                    .is_ok_and(|g| g.matches(&plain.to_ascii_uppercase()))
            })
        {
            return Token::Redacted(format!("{open}{name}={REDACTED}"));
        }
    }
    url_password(token).map_or(Token::Kept, Token::Redacted)
}

/// `scheme://user:password@host...` with the password replaced.
fn url_password(token: &str) -> Option<String> {
    let start = token.find("://")? + 3;
    let authority_end = token[start..]
        .find(['/', '?', '#'])
        .map_or(token.len(), |i| start + i);
    let at = token[start..authority_end].rfind('@')? + start;
    let colon = token[start..at].find(':')? + start;
    Some(format!("{}{REDACTED}{}", &token[..=colon], &token[at..]))
}

/// Tokens of an argument with the whitespace after each, quote-aware so
/// that `--password='a b'` is one token. An argument with whitespace in it
/// is read as a shell command (`sh -c "..."`): there an unquoted control
/// or redirection character (`; & | < > ) \``) ends a token too and goes
/// with the separator, as the shell reads it. A single-word argument's
/// value is all of it, `;` and all.
fn tokens(arg: &str) -> Vec<(&str, &str)> {
    let bytes = arg.as_bytes();
    let shell = bytes.iter().any(u8::is_ascii_whitespace);
    let control = |b: u8| shell && matches!(b, b';' | b'&' | b'|' | b'<' | b'>' | b')' | b'`');
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let mut quote = None;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'\'' || b == b'"' => quote = Some(b),
                None if b.is_ascii_whitespace() || control(b) => break,
                None => {}
            }
            i += 1;
        }
        let end = i;
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || control(bytes[i])) {
            i += 1;
        }
        out.push((&arg[start..end], &arg[end..i]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(args: &[&str]) -> (Vec<String>, bool) {
        let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        super::args(&Redact::default(), &owned)
    }

    #[test]
    fn options_assignments_headers_and_urls_lose_their_secrets() {
        let cases: &[(&[&str], &[&str])] = &[
            (
                &["mysql", "--password=hunter2", "-u", "root"],
                &["mysql", "--password=<redacted>", "-u", "root"],
            ),
            (
                &["mysql", "--password", "hunter2", "db"],
                &["mysql", "--password", "<redacted>", "db"],
            ),
            (&["app", "--Token=abc"], &["app", "--Token=<redacted>"]),
            (
                &["sh", "-c", "a --token=x; b --password=y&&c --pass z|d >/o"],
                &[
                    "sh",
                    "-c",
                    "a --token=<redacted>; b --password=<redacted>&&c --pass <redacted>|d >/o",
                ],
            ),
            (&["app", "--token=a;b|c"], &["app", "--token=<redacted>"]),
            (
                &[
                    "env",
                    "AWS_SECRET_ACCESS_KEY=xyz",
                    "DB_PASSWORD=p",
                    "PATH=/bin",
                    "cmd",
                ],
                &[
                    "env",
                    "AWS_SECRET_ACCESS_KEY=<redacted>",
                    "DB_PASSWORD=<redacted>",
                    "PATH=/bin",
                    "cmd",
                ],
            ),
            (
                &["curl", "-H", "Authorization: Bearer abc.def", "https://x"],
                &["curl", "-H", "Authorization: <redacted>", "https://x"],
            ),
            (
                &["curl", "-H", "authorization:Bearer", "x"],
                &["curl", "-H", "authorization:<redacted>", "x"],
            ),
            (
                &["sh", "-c", "curl -H 'Authorization: Bearer x' http://a"],
                &["sh", "-c", "curl -H 'Authorization:<redacted> http://a"],
            ),
            (
                &["sh", "-c", "echo \"DB_PASSWORD=x\""],
                &["sh", "-c", "echo \"DB_PASSWORD=<redacted>"],
            ),
            (
                &["git", "clone", "https://bob:s3cr3t@example.com/repo.git"],
                &[
                    "git",
                    "clone",
                    "https://bob:<redacted>@example.com/repo.git",
                ],
            ),
            (
                &["psql", "postgres://u:p@db:5432/x?sslmode=off"],
                &["psql", "postgres://u:<redacted>@db:5432/x?sslmode=off"],
            ),
            (
                &["sh", "-c", "mysql --password='a b' -e 'select 1'"],
                &["sh", "-c", "mysql --password=<redacted> -e 'select 1'"],
            ),
            (
                &["sh", "-c", "API_TOKEN=abc ./run --secret s"],
                &["sh", "-c", "API_TOKEN=<redacted> ./run --secret <redacted>"],
            ),
        ];
        for (input, want) in cases {
            let (got, changed) = r(input);
            assert_eq!(got, *want, "{input:?}");
            assert!(changed, "{input:?}");
        }
    }

    #[test]
    fn what_holds_no_secret_is_left_byte_for_byte() {
        for input in [
            &["/bin/ls", "-l", "/etc"][..],
            &["sh", "-c", "echo a   b\t c"],
            &["curl", "https://example.com/a:b@c"],
            &["x", "KEYBOARD=us", "--pass"],
            &[""],
        ] {
            let (got, changed) = r(input);
            assert_eq!(got, input.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert!(!changed, "{input:?}");
        }
    }

    #[test]
    fn the_rules_are_the_config_s() {
        let rules = Redact {
            options: vec!["--pin".into()],
            assignments: vec![],
            headers: vec![],
        };
        let (got, _) = super::args(
            &rules,
            &["a".into(), "--pin=1234".into(), "--password=x".into()],
        );
        assert_eq!(got, ["a", "--pin=<redacted>", "--password=x"]);
    }
}
