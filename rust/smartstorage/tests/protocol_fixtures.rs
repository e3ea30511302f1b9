//! The JSON fixtures in `docs/fixtures/` are the protocol's examples. This test
//! parses every one into the Rust types (unknown fields rejected); the
//! TypeScript suite parses the same files with its zod schemas, so the two
//! sides cannot drift apart unnoticed.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use smartstorage::config::Config;
use smartstorage::protocol::{
    AddCredentialResult, BucketEntry, BucketResult, ClusterStatusResult, CredentialListEntry,
    Event, METHODS, RemoveCredentialResult, Response, StartResult, StatusResult, StopResult,
    parse_request,
};
use std::path::PathBuf;

fn fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/fixtures");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .filter(|(name, _)| name.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "fixtures missing from {}", dir.display());
    files
}

/// Parses `value` as `T` and checks nothing is lost on the way back.
fn round_trips<T: DeserializeOwned + Serialize>(name: &str, value: &Value) {
    let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        &serde_json::to_value(&typed).unwrap(),
        value,
        "{name} does not round-trip"
    );
}

#[test]
fn every_fixture_parses_into_the_rust_types() {
    for (name, text) in fixtures() {
        let parts: Vec<&str> = name.trim_end_matches(".json").splitn(2, '.').collect();
        let (kind, what) = (parts[0], parts.get(1).copied().unwrap_or(""));
        match kind {
            "event" => round_trips::<Event>(&name, &serde_json::from_str(&text).unwrap()),
            "request" => {
                let (_, call) = parse_request(&text)
                    .unwrap_or_else(|(_, e)| panic!("{name}: {}: {}", e.code, e.message));
                assert_eq!(
                    call.method(),
                    what,
                    "{name} holds a {} request",
                    call.method()
                );
            }
            "response" => {
                let response: Response =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    response.ok && response.error.is_none(),
                    "{name} must be a success"
                );
                let result = response
                    .result
                    .unwrap_or_else(|| panic!("{name} has no result"));
                match what {
                    "start" => round_trips::<StartResult>(&name, &result),
                    "stop" => round_trips::<StopResult>(&name, &result),
                    "createBucket" | "deleteBucket" => round_trips::<BucketResult>(&name, &result),
                    "listBuckets" => round_trips::<Vec<BucketEntry>>(&name, &result),
                    "status" => round_trips::<StatusResult>(&name, &result),
                    "clusterStatus" => round_trips::<ClusterStatusResult>(&name, &result),
                    "addCredential" => round_trips::<AddCredentialResult>(&name, &result),
                    "removeCredential" => round_trips::<RemoveCredentialResult>(&name, &result),
                    "listCredentials" => round_trips::<Vec<CredentialListEntry>>(&name, &result),
                    other => panic!("{name}: no result type for method {other:?}"),
                }
            }
            "error" => {
                let response: Response =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    !response.ok && response.result.is_none() && response.error.is_some(),
                    "{name} must be a failure"
                );
            }
            "config" => {
                let config = Config::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                config.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            other => panic!("{name}: unknown fixture kind {other:?}"),
        }
    }
}

#[test]
fn every_method_has_a_request_and_a_response_fixture() {
    let names: Vec<String> = fixtures().into_iter().map(|(n, _)| n).collect();
    for method in METHODS {
        for kind in ["request", "response"] {
            let file = format!("{kind}.{method}.json");
            assert!(names.contains(&file), "missing docs/fixtures/{file}");
        }
    }
}

#[test]
fn default_config_fixture_equals_the_rust_defaults() {
    let text = fixtures()
        .into_iter()
        .find(|(n, _)| n == "config.defaults.json")
        .unwrap()
        .1;
    let fixture: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_value(Config::default()).unwrap(), fixture);
}
