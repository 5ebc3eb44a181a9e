//! Walks `fixtures/access/<scenario>/`: runs `script.qvs`, evaluates every
//! case of `expected.json` and compares with the preview JSON.
//!
//! `expected.json` is a list of cases:
//! `{"user": ID, "groups": [..]?, "email": E?, "options": {..}?, "expect": {..}}`.
//! `options` takes `product` (`sense`|`qlikview`), `strict_exclusion`,
//! `server`, `uppercase` (`inline`|`all`). `expect` is a subset of the
//! preview JSON: objects compare key by key (only the keys given), arrays and
//! scalars exactly, except `notes`, a list of note codes that must be
//! present, and `absent_notes`, codes that must not be. A new scenario is a
//! new folder.

use serde_json::Value as Json;

use section_access::access::{Evaluator, Options, PreviewReport, Product};
use section_access::load::{LoadOptions, Uppercase, run_file};
use section_access::names::{Email, GroupName, Identity, UserId};

pub(crate) fn options(o: Option<&Json>) -> Options {
    let mut opts = Options::default();
    let Some(o) = o else { return opts };
    if let Some(p) = o.get("product").and_then(Json::as_str) {
        opts.product = match p {
            "sense" => Product::Sense,
            "qlikview" => Product::QlikView,
            other => panic!("unknown product {other}"),
        };
    }
    if let Some(s) = o.get("strict_exclusion").and_then(Json::as_bool) {
        opts.strict_exclusion = s;
    }
    if let Some(s) = o.get("server").and_then(Json::as_bool) {
        opts.server = s;
    }
    if let Some(u) = o.get("uppercase").and_then(Json::as_str) {
        opts.uppercase = match u {
            "inline" => Uppercase::Inline,
            "all" => Uppercase::All,
            other => panic!("unknown uppercase mode {other}"),
        };
    }
    opts
}

/// The identity of a case: `user`, `groups` and `email`.
pub(crate) fn identity(case: &Json) -> Identity {
    let groups = case
        .get("groups")
        .and_then(Json::as_array)
        .map(|g| {
            g.iter()
                .map(|x| GroupName::new(x.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    let email = case.get("email").and_then(Json::as_str).map(Email::new);
    Identity::new(
        case.get("user").and_then(Json::as_str).map(UserId::new),
        email,
        groups,
    )
}

/// Subset comparison; returns the first difference as a path.
fn differs(path: &str, want: &Json, got: &Json) -> Option<String> {
    match (want, got) {
        (Json::Object(w), Json::Object(g)) => w.iter().find_map(|(k, wv)| {
            let here = format!("{path}.{k}");
            match k.as_str() {
                "notes" => {
                    let codes: Vec<&str> = g["notes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| n["code"].as_str().unwrap())
                        .collect();
                    wv.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_str().unwrap())
                        .find(|c| !codes.contains(c))
                        .map(|c| format!("{here}: missing note `{c}` in {codes:?}"))
                }
                "absent_notes" => {
                    let notes = g["notes"].as_array().unwrap();
                    wv.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_str().unwrap())
                        .find(|c| notes.iter().any(|n| n["code"] == *c))
                        .map(|c| format!("{here}: unexpected note `{c}`"))
                }
                _ => match g.get(k) {
                    None => Some(format!("{here}: missing")),
                    Some(gv) => differs(&here, wv, gv),
                },
            }
        }),
        _ if want == got => None,
        _ => Some(format!("{path}: expected {want}, got {got}")),
    }
}

#[test]
fn every_scenario_gives_its_expected_answers() {
    let dirs = crate::common::fixture_folders("access");
    assert!(dirs.len() >= 20, "scenarios missing under fixtures/access");
    let mut failures = Vec::new();
    let mut cases = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(dir.join("README.md").is_file(), "{name}: README.md missing");
        let app = match run_file(&dir.join("script.qvs"), &LoadOptions::default()) {
            Ok(app) => app,
            Err(e) => {
                failures.push(format!("{name}: script fails to run: {e}"));
                continue;
            }
        };
        let expected: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap_or_else(|e| panic!("{name}: expected.json: {e}"));
        for case in expected.as_array().unwrap() {
            cases += 1;
            let user = case["user"].as_str().unwrap();
            let identity = identity(case);
            let opts = options(case.get("options"));
            let decision = Evaluator::new(&app, opts).evaluate(&identity);
            let got = serde_json::to_value(PreviewReport::new(&app, &identity, &decision)).unwrap();
            if let Some(d) = differs("", &case["expect"], &got) {
                failures.push(format!(
                    "{name} / {user} {:?}: {d}\n  got {got}",
                    case.get("options")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A scenario's identities per set of options its cases use (keyed by the
/// options' JSON; `{}` always present): what the exports check it under.
pub(crate) fn identities_by_options(
    dir: &std::path::Path,
) -> std::collections::BTreeMap<String, (Options, Vec<Identity>)> {
    let expected: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let mut by_options = std::collections::BTreeMap::new();
    by_options.insert("{}".to_string(), (Options::default(), Vec::new()));
    for case in expected.as_array().unwrap() {
        let key = case
            .get("options")
            .map_or("{}".to_string(), Json::to_string);
        by_options
            .entry(key)
            .or_insert_with(|| (options(case.get("options")), Vec::new()))
            .1
            .push(identity(case));
    }
    by_options
}
