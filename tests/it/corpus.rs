//! Every real script in `../shared/corpus/real-scripts/` parses, and the
//! parse finds what is really there.

use section_access::script::ast::{Section, Source, Stmt, StmtKind};
use section_access::script::source::SourceId;
use section_access::script::{Parsed, decode, parse};

use crate::common::real_scripts;

/// The fenced code blocks of a markdown file that hold a load script
/// (```none / ```qvs / unlabelled blocks with a `;`).
fn script_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in md.lines() {
        if let Some(rest) = line.trim_start().strip_prefix("```") {
            match current.take() {
                Some((lang, body)) => {
                    if matches!(lang.as_str(), "" | "none" | "qvs" | "qlik") && body.contains(';') {
                        out.push(body);
                    }
                }
                None => current = Some((rest.trim().to_owned(), String::new())),
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The corpus file `name`, parsed; `None` (and a skip note for `test`)
/// without `../shared`.
fn parse_file(name: &str, test: &str) -> Option<Parsed> {
    let bytes = std::fs::read(real_scripts(test)?.join(name)).unwrap();
    let text = decode(bytes);
    let parsed = parse(SourceId(0), &text).unwrap_or_else(|e| {
        let mut s = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut s, &e.with_source_name(name))
            .unwrap();
        panic!("{s}")
    });
    Some(parsed)
}

/// Every statement, nested ones included.
fn all(body: &[Stmt]) -> Vec<&StmtKind> {
    let mut out = Vec::new();
    for s in body {
        out.push(&s.kind);
        match &s.kind {
            StmtKind::If {
                branches,
                otherwise,
            } => {
                for (_, b) in branches {
                    out.extend(all(b));
                }
                if let Some(b) = otherwise {
                    out.extend(all(b));
                }
            }
            StmtKind::For { body, .. }
            | StmtKind::ForEach { body, .. }
            | StmtKind::Sub { body, .. }
            | StmtKind::Do { body, .. } => out.extend(all(body)),
            _ => {}
        }
    }
    out
}

fn count(p: &Parsed, f: impl Fn(&StmtKind) -> bool) -> usize {
    all(&p.script.body).into_iter().filter(|k| f(k)).count()
}

fn is_load(k: &StmtKind) -> bool {
    matches!(k, StmtKind::Load(_))
}

fn is_deferred_load(k: &StmtKind) -> bool {
    matches!(k, StmtKind::Deferred { text } if text.to_ascii_uppercase().contains("LOAD"))
}

#[test]
fn every_corpus_file_parses() {
    let Some(dir) = real_scripts("every_corpus_file_parses") else {
        return;
    };
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        match path.extension().and_then(|e| e.to_str()) {
            Some("qvs" | "txt") => {
                parse_file(&name, "every_corpus_file_parses");
                seen += 1;
            }
            Some("md") if name != "README.md" => {
                let text = std::fs::read_to_string(&path).unwrap();
                let blocks = script_blocks(&text);
                assert!(!blocks.is_empty(), "{name}: no script block");
                for b in blocks {
                    parse(SourceId(0), &b).unwrap();
                }
                seen += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seen, 6);
}

#[test]
fn hide_fields_script_has_one_section_access_inline_load() {
    let Some(p) = parse_file(
        "iamdv__QlikView-Security-Masterclass__Hide_multiple_fields_from_the_data_model.qvs",
        "hide_fields_script_has_one_section_access_inline_load",
    ) else {
        return;
    };
    let b = &p.script.body;
    assert_eq!(b[0].kind, StmtKind::Section(Section::Access));
    let StmtKind::Load(l) = &b[1].kind else {
        panic!("{:?}", b[1].kind)
    };
    let Source::Inline { text, .. } = &l.load.source else {
        panic!()
    };
    assert!(
        text.trim_start()
            .starts_with("ACCESS, USERID, PASSWORD, OMIT")
    );
    // Header plus 21 rows (one ADMIN, 20 USER).
    assert_eq!(text.lines().filter(|l| !l.trim().is_empty()).count(), 22);
    assert_eq!(b[2].kind, StmtKind::Section(Section::Application));
    assert!(p.warnings.is_empty());
}

#[test]
fn single_field_solution_defers_its_qvd_loads() {
    let Some(p) = parse_file(
        "iamdv__QlikView-Security-Masterclass__02_Single_Field_Reduction_-_Solution.qvs",
        "single_field_solution_defers_its_qvd_loads",
    ) else {
        return;
    };
    // The section access INLINE load parses now; the ten QVD loads use
    // $(vRootPath) and wait for the run.
    assert_eq!(count(&p, is_load), 1);
    assert_eq!(count(&p, is_deferred_load), 10);
    assert_eq!(count(&p, |k| matches!(k, StmtKind::Exit { .. })), 1);
    assert!(p.script.body.iter().any(|s| matches!(
        &s.kind,
        StmtKind::Set { name, value: Some(v) } if name == "HidePrefix" && v == "%"
    )));
}

#[test]
fn multi_field_solution_finds_the_resident_section_access_load() {
    let Some(p) = parse_file(
        "iamdv__QlikView-Security-Masterclass__Multi_Field_Reduction_Solution.qvs",
        "multi_field_solution_finds_the_resident_section_access_load",
    ) else {
        return;
    };
    let b = &p.script.body;
    let access = b
        .iter()
        .position(|s| s.kind == StmtKind::Section(Section::Access))
        .unwrap();
    let StmtKind::Load(l) = &b[access + 1].kind else {
        panic!()
    };
    assert!(matches!(&l.load.source, Source::Resident(n) if n.name == "Final_SectionAccess"));
    assert_eq!(l.load.fields.len(), 4);
    // NoConcatenate before the label, joins, preceding loads.
    assert!(count(&p, is_load) >= 20, "{}", count(&p, is_load));
    assert_eq!(count(&p, |k| matches!(k, StmtKind::Drop(_))), 2);
}

#[test]
fn christof_schwarz_sub_keeps_structure_and_warns_once() {
    let Some(p) = parse_file(
        "ChristofSchwarz__QlikScripts__CreateSectionAccess.txt",
        "christof_schwarz_sub_keeps_structure_and_warns_once",
    ) else {
        return;
    };
    let [sub] = p.script.body.as_slice() else {
        panic!("{:#?}", p.script.body)
    };
    let StmtKind::Sub { name, params, .. } = &sub.kind else {
        panic!()
    };
    assert_eq!(name, "CreateSectionAccess");
    assert_eq!(params.len(), 5);
    assert_eq!(count(&p, |k| matches!(k, StmtKind::ForEach { .. })), 1);
    assert_eq!(count(&p, |k| matches!(k, StmtKind::For { .. })), 1);
    assert_eq!(count(&p, |k| matches!(k, StmtKind::If { .. })), 2);
    assert_eq!(count(&p, |k| matches!(k, StmtKind::Unknown { .. })), 1);
    assert_eq!(p.warnings.len(), 1);
    assert!(all(&p.script.body).contains(&&StmtKind::Set {
        name: "q".into(),
        value: Some("'".into())
    }));
}

#[test]
fn qlik_core_tutorial_block_loads_two_inline_tables() {
    let Some(dir) = real_scripts("qlik_core_tutorial_block_loads_two_inline_tables") else {
        return;
    };
    let md = std::fs::read_to_string(dir.join("qlik-oss__core-website__authorization.md")).unwrap();
    let blocks = script_blocks(&md);
    assert_eq!(blocks.len(), 1);
    let p = parse(SourceId(0), &blocks[0]).unwrap();
    assert_eq!(count(&p, is_load), 2);
    let StmtKind::Load(sales) = &p.script.body[3].kind else {
        panic!()
    };
    assert_eq!(sales.label.as_ref().unwrap().name, "Sales");
}
