//! Policy evaluation as IAM does it: a statement applies when its principal,
//! action, resource and every condition match; an applicable Deny beats any
//! Allow, an applicable Allow beats the implicit deny.

use super::condition::RequestValues;
use super::parse::{Effect, PatternList, Policy, Statement};

/// What a policy says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An applicable statement denies the request.
    Deny,
    /// An applicable statement allows it and none denies it.
    Allow,
    /// No statement applies (the implicit deny, unless ownership grants access).
    NotApplicable,
}

/// The resource a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// One ARN (`arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`).
    Arn(&'a str),
    /// Every object of a bucket; the string is `arn:aws:s3:::bucket/`.
    AllObjects(&'a str),
}

/// One request, as the evaluator sees it.
#[derive(Debug, Clone, Copy)]
pub struct EvalRequest<'a> {
    /// The access key id, `None` for anonymous requests.
    pub principal: Option<&'a str>,
    /// The IAM action, e.g. `s3:GetObject`.
    pub action: &'a str,
    /// The resource.
    pub target: Target<'a>,
    /// Condition key values.
    pub values: &'a RequestValues,
}

/// How strictly a statement must cover a set of resources.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cover {
    /// It must apply to every resource of the set (an Allow for all keys).
    All,
    /// It is enough that it applies to one (a Deny for some key).
    Some,
}

impl Policy {
    /// Evaluates the policy for `request`.
    pub fn evaluate(&self, request: &EvalRequest<'_>) -> Decision {
        let mut allowed = false;
        for statement in &self.statements {
            match statement.effect {
                Effect::Deny if statement.applies(request, Cover::Some) => return Decision::Deny,
                Effect::Allow if !allowed && statement.applies(request, Cover::All) => allowed = true,
                _ => {}
            }
        }
        if allowed { Decision::Allow } else { Decision::NotApplicable }
    }
}

impl Statement {
    fn applies(&self, request: &EvalRequest<'_>, cover: Cover) -> bool {
        self.principal.contains(request.principal) != self.principal_negated
            && action_matches(&self.actions, request.action)
            && self.resource_matches(request, cover)
            && self.conditions.iter().all(|c| c.holds(request.values))
    }

    fn resource_matches(&self, request: &EvalRequest<'_>, cover: Cover) -> bool {
        let lookup = |k: &str| request.values.lookup(k);
        let list: &PatternList = &self.resources;
        match request.target {
            Target::Arn(arn) => list.patterns.iter().any(|p| p.matches_with(arn, &lookup)) != list.negated,
            Target::AllObjects(prefix) => {
                // Resource: an Allow must cover every key, a Deny some key.
                // NotResource: the statement applies to the keys no pattern
                // matches, so the questions swap.
                let all = |p: &super::pattern::Pattern| p.matches_all_with_prefix(prefix, &lookup);
                let some = |p: &super::pattern::Pattern| p.matches_some_with_prefix(prefix, &lookup);
                match (list.negated, cover) {
                    (false, Cover::All) => list.patterns.iter().any(all),
                    (false, Cover::Some) => list.patterns.iter().any(some),
                    (true, Cover::All) => !list.patterns.iter().any(some),
                    (true, Cover::Some) => !list.patterns.iter().any(all),
                }
            }
        }
    }
}

fn action_matches(list: &PatternList, action: &str) -> bool {
    list.patterns.iter().any(|p| p.matches(action)) != list.negated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(statements: &str) -> Policy {
        Policy::parse(format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#).as_bytes(), "b1").unwrap()
    }

    fn decide(p: &Policy, principal: Option<&str>, action: &str, arn: &str, values: &RequestValues) -> Decision {
        p.evaluate(&EvalRequest { principal, action, target: Target::Arn(arn), values })
    }

    const READ_ALL: &str = r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b1/*"}"#;

    #[test]
    fn anonymous_read_is_allowed_by_a_public_policy() {
        let p = policy(READ_ALL);
        let v = RequestValues::default();
        assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/a/b", &v), Decision::Allow);
        assert_eq!(decide(&p, None, "s3:PutObject", "arn:aws:s3:::b1/a/b", &v), Decision::NotApplicable);
        assert_eq!(decide(&p, None, "s3:ListBucket", "arn:aws:s3:::b1", &v), Decision::NotApplicable);
        assert_eq!(decide(&p, Some("AK"), "S3:getobject", "arn:aws:s3:::b1/x", &v), Decision::Allow);
    }

    #[test]
    fn deny_beats_allow_in_any_order() {
        let deny = r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b1/secret/*"}"#;
        let v = RequestValues::default();
        for p in [policy(&format!("{READ_ALL},{deny}")), policy(&format!("{deny},{READ_ALL}"))] {
            assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/secret/x", &v), Decision::Deny);
            assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/public/x", &v), Decision::Allow);
        }
    }

    #[test]
    fn principals_select_access_keys() {
        let p = policy(r#"{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::000000000000:user/ALICE","BOB"]},"Action":"s3:Get*","Resource":"arn:aws:s3:::b1/*"}"#);
        let v = RequestValues::default();
        assert_eq!(decide(&p, Some("ALICE"), "s3:GetObject", "arn:aws:s3:::b1/k", &v), Decision::Allow);
        assert_eq!(decide(&p, Some("BOB"), "s3:GetObjectTagging", "arn:aws:s3:::b1/k", &v), Decision::Allow);
        assert_eq!(decide(&p, Some("EVE"), "s3:GetObject", "arn:aws:s3:::b1/k", &v), Decision::NotApplicable);
        assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/k", &v), Decision::NotApplicable);
        let not = policy(r#"{"Effect":"Deny","NotPrincipal":{"AWS":"ALICE"},"Action":"s3:*","Resource":"arn:aws:s3:::b1/*"}"#);
        assert_eq!(decide(&not, Some("ALICE"), "s3:GetObject", "arn:aws:s3:::b1/k", &v), Decision::NotApplicable);
        assert_eq!(decide(&not, Some("BOB"), "s3:GetObject", "arn:aws:s3:::b1/k", &v), Decision::Deny);
        assert_eq!(decide(&not, None, "s3:GetObject", "arn:aws:s3:::b1/k", &v), Decision::Deny);
    }

    #[test]
    fn not_action_and_not_resource_invert_the_match() {
        let p = policy(r#"{"Effect":"Allow","Principal":"*","NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::b1/private/*"}"#);
        let v = RequestValues::default();
        assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/x", &v), Decision::Allow);
        assert_eq!(decide(&p, None, "s3:ListBucket", "arn:aws:s3:::b1", &v), Decision::Allow);
        assert_eq!(decide(&p, None, "s3:DeleteObject", "arn:aws:s3:::b1/x", &v), Decision::NotApplicable);
        assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/private/x", &v), Decision::NotApplicable);
    }

    #[test]
    fn wildcard_resources_match_with_star_and_question_mark() {
        let p = policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":["arn:aws:s3:::b1/img/*.png","arn:aws:s3:::b1/doc-?.txt"]}"#);
        let v = RequestValues::default();
        assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/img/a/b.png", &v), Decision::Allow);
        assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/img/a.jpg", &v), Decision::NotApplicable);
        assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/doc-1.txt", &v), Decision::Allow);
        assert_eq!(decide(&p, None, "s3:GetObject", "arn:aws:s3:::b1/doc-12.txt", &v), Decision::NotApplicable);
    }

    #[test]
    fn conditions_gate_statements() {
        let p = policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b1","Condition":{"StringLike":{"s3:prefix":"public/*"},"NumericLessThanEquals":{"s3:max-keys":"100"}}}"#);
        let mut v = RequestValues::default();
        v.set("s3:prefix", "public/a");
        v.set("s3:max-keys", "50");
        assert_eq!(decide(&p, None, "s3:ListBucket", "arn:aws:s3:::b1", &v), Decision::Allow);
        v.set("s3:max-keys", "1000");
        assert_eq!(decide(&p, None, "s3:ListBucket", "arn:aws:s3:::b1", &v), Decision::NotApplicable);
        let mut w = RequestValues::default();
        w.set("s3:max-keys", "50");
        assert_eq!(decide(&p, None, "s3:ListBucket", "arn:aws:s3:::b1", &w), Decision::NotApplicable);
    }

    #[test]
    fn policy_variables_resolve_per_request() {
        let p = policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b1/home/${aws:username}/*"}"#);
        let mut v = RequestValues::default();
        v.set("aws:username", "ALICE");
        assert_eq!(decide(&p, Some("ALICE"), "s3:PutObject", "arn:aws:s3:::b1/home/ALICE/f", &v), Decision::Allow);
        assert_eq!(decide(&p, Some("ALICE"), "s3:PutObject", "arn:aws:s3:::b1/home/BOB/f", &v), Decision::NotApplicable);
        let anon = RequestValues::default();
        assert_eq!(decide(&p, None, "s3:PutObject", "arn:aws:s3:::b1/home//f", &anon), Decision::NotApplicable);
    }

    #[test]
    fn all_objects_needs_full_cover_to_allow_and_any_overlap_to_deny() {
        let v = RequestValues::default();
        let all = |p: &Policy| p.evaluate(&EvalRequest { principal: None, action: "s3:DeleteObject", target: Target::AllObjects("arn:aws:s3:::b1/"), values: &v });
        assert_eq!(all(&policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b1/*"}"#)), Decision::Allow);
        assert_eq!(all(&policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b1/tmp/*"}"#)), Decision::NotApplicable);
        assert_eq!(all(&policy(r#"{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::b1/keep/*"}"#)), Decision::Deny);
        assert_eq!(all(&policy(r#"{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","NotResource":"arn:aws:s3:::b1/tmp/*"}"#)), Decision::Deny);
        assert_eq!(all(&policy(r#"{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","NotResource":"arn:aws:s3:::b1/tmp/*"}"#)), Decision::NotApplicable);
        assert_eq!(all(&policy(r#"{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","NotResource":"arn:aws:s3:::b1/*"}"#)), Decision::NotApplicable);
    }
}
