//! IAM wildcard patterns (`*` = any run of characters, `?` = exactly one
//! character) as used in `Action`, `Resource` and `StringLike`, with the
//! policy variables of version 2012-10-17 (`${aws:username}`, `${*}`, …).
//!
//! Besides plain matching, patterns answer two set questions the evaluator
//! needs for requests that touch many keys at once (DeleteObjects): can the
//! pattern match *some* string starting with a prefix, and does it match
//! *every* string starting with it.

use std::borrow::Cow;

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A literal character.
    Char(char),
    /// `*`: any run of characters, including none.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A piece of a pattern as written: literal wildcard text, or a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Toks(Vec<Tok>),
    /// `${key}`: replaced by the request's value of the condition key (lowercase).
    Var(String),
}

/// A wildcard pattern, possibly with policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    parts: Vec<Part>,
    /// Match ASCII letters case-insensitively (action names).
    ignore_case: bool,
}

impl Pattern {
    /// Compiles `source`. With `variables`, `${key}` is a policy variable and
    /// `${*}`, `${?}`, `${$}` are the literal characters; without (version
    /// 2008-10-17), `$` is an ordinary character.
    pub fn new(source: &str, variables: bool, ignore_case: bool) -> Pattern {
        let mut parts = Vec::new();
        let mut toks = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            if variables
                && let Some(after) = rest.strip_prefix("${")
                && let Some(end) = after.find('}')
            {
                let name = &after[..end];
                match name {
                    "*" => toks.push(Tok::Char('*')),
                    "?" => toks.push(Tok::Char('?')),
                    "$" => toks.push(Tok::Char('$')),
                    _ => {
                        if !toks.is_empty() {
                            parts.push(Part::Toks(std::mem::take(&mut toks)));
                        }
                        parts.push(Part::Var(name.trim().to_ascii_lowercase()));
                    }
                }
                rest = &after[end + 1..];
                continue;
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                toks.push(match c {
                    '*' => Tok::Star,
                    '?' => Tok::One,
                    c => Tok::Char(c),
                });
            }
            rest = chars.as_str();
        }
        if !toks.is_empty() || parts.is_empty() {
            parts.push(Part::Toks(toks));
        }
        Pattern { source: source.to_string(), parts, ignore_case }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern uses policy variables.
    pub fn has_variables(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Var(_)))
    }

    /// The tokens with variables replaced through `lookup`; `None` when a
    /// variable has no value in this request (the pattern then matches nothing).
    pub fn tokens<'a>(&'a self, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Cow<'a, [Tok]>> {
        if let [Part::Toks(toks)] = self.parts.as_slice() {
            return Some(Cow::Borrowed(toks));
        }
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Toks(t) => out.extend_from_slice(t),
                Part::Var(name) => out.extend(lookup(name)?.chars().map(Tok::Char)),
            }
        }
        Some(Cow::Owned(out))
    }

    /// The pattern as plain text with variables replaced (`*` and `?` kept as
    /// characters), for the equality operators; `None` when a variable is missing.
    pub fn expand(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        let toks = self.tokens(lookup)?;
        Some(toks.iter().map(|t| match t {
            Tok::Char(c) => *c,
            Tok::Star => '*',
            Tok::One => '?',
        }).collect())
    }

    /// Whether `text` matches, variables resolved through `lookup`.
    pub fn matches_with(&self, text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        self.tokens(lookup).is_some_and(|toks| match_tokens(&toks, text, self.ignore_case))
    }

    /// Whether `text` matches a pattern without variables (variables match nothing).
    pub fn matches(&self, text: &str) -> bool {
        self.matches_with(text, &|_| None)
    }

    /// Whether some string starting with `prefix` matches.
    pub fn matches_some_with_prefix(&self, prefix: &str, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        self.tokens(lookup).is_some_and(|toks| !states_after(&toks, prefix, self.ignore_case).is_empty())
    }

    /// Whether every non-empty string after `prefix` matches (the pattern
    /// ends, after the prefix, in nothing but `*`).
    pub fn matches_all_with_prefix(&self, prefix: &str, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
        self.tokens(lookup).is_some_and(|toks| {
            states_after(&toks, prefix, self.ignore_case)
                .into_iter()
                .any(|i| i < toks.len() && toks[i..].iter().all(|t| *t == Tok::Star))
        })
    }
}

fn char_eq(a: char, b: char, ignore_case: bool) -> bool {
    a == b || (ignore_case && a.eq_ignore_ascii_case(&b))
}

/// Classic linear-time wildcard matching with one backtrack point.
pub fn match_tokens(toks: &[Tok], text: &str, ignore_case: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    // `t` only ever advances by whole characters, so slicing is at a boundary.
    let char_at = |t: usize| -> Option<(char, usize)> { text.get(t..)?.chars().next().map(|c| (c, c.len_utf8())) };
    while t < text.len() {
        let Some((c, len)) = char_at(t) else { return false };
        match toks.get(p) {
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(Tok::One) => {
                p += 1;
                t += len;
                continue;
            }
            Some(Tok::Char(pc)) if char_eq(*pc, c, ignore_case) => {
                p += 1;
                t += len;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st)) => {
                let Some((_, skip)) = char_at(st) else { return false };
                star = Some((sp, st + skip));
                p = sp + 1;
                t = st + skip;
            }
            None => return false,
        }
    }
    toks[p.min(toks.len())..].iter().all(|tok| *tok == Tok::Star)
}

/// Pattern positions reachable after consuming `prefix` (an NFA simulation,
/// `*` closing over the next position).
fn states_after(toks: &[Tok], prefix: &str, ignore_case: bool) -> Vec<usize> {
    let close = |states: &mut Vec<usize>| {
        let mut i = 0;
        while i < states.len() {
            let s = states[i];
            if toks.get(s) == Some(&Tok::Star) && !states.contains(&(s + 1)) {
                states.push(s + 1);
            }
            i += 1;
        }
    };
    let mut states = vec![0usize];
    close(&mut states);
    for c in prefix.chars() {
        let mut next = Vec::new();
        for &s in &states {
            let to = match toks.get(s) {
                Some(Tok::Star) => Some(s),
                Some(Tok::One) => Some(s + 1),
                Some(Tok::Char(pc)) if char_eq(*pc, c, ignore_case) => Some(s + 1),
                _ => None,
            };
            if let Some(to) = to.filter(|to| !next.contains(to)) {
                next.push(to);
            }
        }
        close(&mut next);
        if next.is_empty() {
            return next;
        }
        states = next;
    }
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Pattern::new(p, true, false).matches(t)
    }

    #[test]
    fn star_and_question_mark_match_as_iam_does() {
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c"));
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/"));
        assert!(!m("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        assert!(m("arn:aws:s3:::b/?.txt", "arn:aws:s3:::b/é.txt"));
        assert!(!m("arn:aws:s3:::b/?.txt", "arn:aws:s3:::b/ab.txt"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYbc"));
        assert!(!m("a*b*c", "aXXbYYbd"));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("**?", "x"));
    }

    #[test]
    fn ignore_case_is_for_ascii_action_names() {
        let p = Pattern::new("s3:Get*", false, true);
        assert!(p.matches("S3:GETOBJECT"));
        assert!(!Pattern::new("s3:Get*", false, false).matches("s3:getobject"));
    }

    #[test]
    fn variables_are_substituted_and_escapes_are_literal() {
        let p = Pattern::new("arn:aws:s3:::b/home/${aws:username}/*", true, false);
        assert!(p.has_variables());
        let lookup = |k: &str| (k == "aws:username").then(|| "AKID".to_string());
        assert!(p.matches_with("arn:aws:s3:::b/home/AKID/x", &lookup));
        assert!(!p.matches_with("arn:aws:s3:::b/home/OTHER/x", &lookup));
        // A missing variable matches nothing.
        assert!(!p.matches("arn:aws:s3:::b/home//x"));
        let lit = Pattern::new("a${*}b", true, false);
        assert!(lit.matches("a*b"));
        assert!(!lit.matches("axxb"));
        // 2008-10-17: no variables, `$` is literal.
        assert!(Pattern::new("a${x}", false, false).matches("a${x}"));
    }

    #[test]
    fn prefix_questions_for_key_sets() {
        let all = |p: &str| Pattern::new(p, true, false).matches_all_with_prefix("arn:aws:s3:::b/", &|_| None);
        let some = |p: &str| Pattern::new(p, true, false).matches_some_with_prefix("arn:aws:s3:::b/", &|_| None);
        assert!(all("arn:aws:s3:::b/*"));
        assert!(all("*"));
        assert!(all("arn:aws:s3:::*"));
        assert!(!all("arn:aws:s3:::b/tmp/*"));
        assert!(!all("arn:aws:s3:::b/?"));
        assert!(some("arn:aws:s3:::b/tmp/*"));
        assert!(some("arn:aws:s3:::b/?"));
        assert!(some("arn:aws:s3:::b*"));
        assert!(!some("arn:aws:s3:::other/*"));
        assert!(!some("arn:aws:s3:::b"));
    }

    #[test]
    fn long_inputs_stay_linear() {
        let text = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!m(&pattern, &text));
    }
}
