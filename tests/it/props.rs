//! Properties of the parser: printing an expression and parsing it back
//! gives the same tree; no input, random or mutated, makes it panic.

use proptest::prelude::*;
use section_access::script::ast::{BinaryOp, Expr, ExprKind, UnaryOp};
use section_access::script::source::{SourceId, Span};
use section_access::script::{Expander, decode, expand, parse, parse_expr};

fn node(kind: ExprKind) -> Expr {
    Expr {
        kind,
        span: Span::default(),
    }
}

const BINARY: &[BinaryOp] = &[
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Concat,
    BinaryOp::Eq,
    BinaryOp::Ne,
    BinaryOp::Lt,
    BinaryOp::Le,
    BinaryOp::Gt,
    BinaryOp::Ge,
    BinaryOp::Like,
    BinaryOp::Precedes,
    BinaryOp::Follows,
    BinaryOp::And,
    BinaryOp::Or,
    BinaryOp::Xor,
    BinaryOp::BitAnd,
    BinaryOp::BitOr,
    BinaryOp::BitXor,
    BinaryOp::Shr,
    BinaryOp::Shl,
];

const UNARY: &[UnaryOp] = &[UnaryOp::Neg, UnaryOp::Plus, UnaryOp::Not, UnaryOp::BitNot];

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (any::<u32>(), proptest::option::of(0u16..1000)).prop_map(|(i, f)| {
            let text = match f {
                Some(f) => format!("{i}.{f}"),
                None => i.to_string(),
            };
            node(ExprKind::Num {
                value: text.parse().unwrap(),
                text,
            })
        }),
        "[a-zA-Z '/;,()\\[\\]\"é]{0,8}".prop_map(|s| node(ExprKind::Str(s))),
        // Plain, bracketed and quoted names, keywords included.
        "[A-Za-z_%#$@][A-Za-z0-9_.]{0,6}".prop_map(|s| node(ExprKind::Field(s))),
        "[A-Za-z0-9 _\\]\"-]{0,8}".prop_map(|s| node(ExprKind::Field(s))),
        prop_oneof![Just("and"), Just("Group"), Just("DISTINCT"), Just("as")]
            .prop_map(|s| node(ExprKind::Field(s.to_owned()))),
    ]
}

fn function_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Upper".to_owned()),
        Just("ApplyMap".to_owned()),
        Just("If".to_owned()),
        Just("Count".to_owned()),
        Just("Date#".to_owned()),
        Just("Null".to_owned()),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(6, 64, 4, |inner| {
        let arg = prop_oneof![9 => inner.clone(), 1 => Just(node(ExprKind::Star))];
        prop_oneof![
            (0..UNARY.len(), inner.clone()).prop_map(|(op, e)| node(ExprKind::Unary {
                op: UNARY[op],
                expr: Box::new(e),
            })),
            (0..BINARY.len(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| node(
                ExprKind::Binary {
                    op: BINARY[op],
                    left: Box::new(l),
                    right: Box::new(r),
                }
            )),
            (
                function_name(),
                proptest::collection::vec(arg, 0..4),
                any::<bool>()
            )
                .prop_map(|(name, args, distinct)| node(ExprKind::Call {
                    distinct: distinct && !args.is_empty(),
                    name,
                    args,
                })),
        ]
    })
}

struct Env;

impl Expander for Env {
    fn variable(&mut self, name: &str) -> Option<String> {
        match name {
            "a" => Some("$(b)".into()),
            "b" => Some("x$1".into()),
            "self" => Some("$(self)".into()),
            _ => None,
        }
    }
    fn evaluate(&mut self, expr: &str) -> Result<String, String> {
        parse_expr(SourceId(0), expr)
            .map(|e| e.to_string())
            .map_err(|e| e.to_string())
    }
    fn include(&mut self, path: &str, _must: bool) -> Result<String, String> {
        Err(format!("no file {path}"))
    }
}

/// The scripts to mutate: the fixtures, and the real scripts of
/// `../shared` when it is there.
fn corpus() -> Vec<Vec<u8>> {
    let root = crate::common::root();
    let mut files: Vec<_> = crate::common::shared_if_there("corpus/real-scripts")
        .map(|dir| {
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| std::fs::read(e.unwrap().path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    for f in ["valid", "invalid"] {
        let d = root.join("fixtures/scripts").join(f);
        files.extend(
            std::fs::read_dir(d)
                .unwrap()
                .map(|e| std::fs::read(e.unwrap().path()).unwrap()),
        );
    }
    files
}

/// Parses and expands; any outcome but a panic is fine.
fn exercise(bytes: &[u8]) {
    let text = decode(bytes.to_vec());
    let _ = parse(SourceId(0), &text);
    let _ = parse_expr(SourceId(0), &text);
    let _ = expand(&text, &mut Env);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printing_then_parsing_gives_the_same_expression(e in expr()) {
        let printed = e.to_string();
        let parsed = parse_expr(SourceId(0), &printed)
            .unwrap_or_else(|err| panic!("{printed:?}: {err}"));
        prop_assert_eq!(parsed, e, "printed as {}", printed);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        exercise(&bytes);
    }

    #[test]
    fn random_script_text_never_panics(s in "[A-Za-z0-9 ;:,()\\[\\]'\"`$=<>&*/\\n\\r\\t-]{0,200}") {
        exercise(s.as_bytes());
    }

    #[test]
    fn mutated_scripts_never_panic(
        file in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let files = corpus();
        let mut bytes = file.get(&files).clone();
        for (at, byte, how) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let i = at.index(bytes.len());
            match how {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => {
                    bytes.remove(i);
                }
            }
        }
        exercise(&bytes);
    }
}
