//! The plain AST of a Qlik load script.
//!
//! Produced by [`crate::script::parse`], consumed by [`crate::load`]. Every
//! node that can be the subject of an error carries a [`Span`]; spans never
//! take part in equality. A [`Span`] itself compares by its bytes, so the
//! five nodes that carry one ([`Stmt`], [`Name`], [`Load`], [`Source`],
//! [`Expr`]) write their `PartialEq` by hand and leave it out, as
//! sqlparser's `Ident` does: two parses of one text with a different layout
//! are equal, and a test that means to check a span asserts it directly.
//!
//! Qlik expands `$(name)` textually *before* it parses a statement, so a
//! statement whose text contains an expansion cannot be parsed ahead of the
//! run: it is kept as [`StmtKind::Deferred`] and the runner parses it after
//! expanding. Control statements (IF, FOR, SUB, DO, SWITCH) are still
//! structured here; only their expressions may be deferred
//! ([`Cond::Deferred`]). Qlik also parses a statement only when it runs it:
//! one that does not parse is [`StmtKind::Invalid`] (a condition,
//! [`Cond::Invalid`]), an error only if it runs.

use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

use super::source::SharedText;
pub use super::source::Span;

/// A whole script (or an included file): its statements in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Script {
    /// Top-level statements.
    pub body: Vec<Stmt>,
}

/// One statement with the span of its text (keyword to terminating `;`).
#[derive(Clone, Debug, Serialize)]
pub struct Stmt {
    /// What the statement does.
    pub kind: StmtKind,
    /// Where it is.
    #[serde(skip)]
    pub span: Span,
}

/// Which part of the script a statement belongs to (SPEC §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Section {
    /// `Section Access;` — security tables.
    Access,
    /// `Section Application;` — the data model (the default).
    Application,
}

/// A statement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StmtKind {
    /// `Section Access;` / `Section Application;`
    Section(Section),
    /// `Star is *;` (`None` for `Star is ;`, which turns the wildcard off).
    StarIs(Option<String>),
    /// `SET name = text;` — the value is kept as text, verbatim (quotes removed
    /// only when the whole value is one quoted string, as Qlik does).
    Set {
        /// Variable name.
        name: String,
        /// Text assigned; `None` for `SET x = ;` (deletes the variable).
        value: Option<String>,
    },
    /// `LET name = expression;`
    Let {
        /// Variable name.
        name: String,
        /// Expression evaluated at run time; `None` for `LET x = ;`.
        value: Option<Expr>,
    },
    /// A table load, with its label and prefixes.
    Load(LoadStmt),
    /// `DROP TABLE[S] a, b;` or `DROP FIELD[S] a, b [FROM t1, t2];`
    Drop(Drop),
    /// `STORE [fields FROM] table INTO path [(format)];`
    Store(Store),
    /// `RENAME TABLE a TO b, c TO d;` or `RENAME FIELD[S] a TO b;`
    Rename(Rename),
    /// `EXIT SCRIPT [WHEN|UNLESS cond];` and `EXIT FOR|DO|SUB …`
    Exit {
        /// What to leave.
        what: ExitWhat,
        /// Optional `WHEN`/`UNLESS` condition.
        when: Option<Guard>,
    },
    /// `TRACE text;`
    Trace(String),
    /// `IF c THEN … ELSEIF c THEN … ELSE … END IF`
    If {
        /// Each `IF`/`ELSEIF` with its body, in order.
        branches: Vec<(Cond, Vec<Stmt>)>,
        /// The `ELSE` body.
        otherwise: Option<Vec<Stmt>>,
    },
    /// `FOR v = a TO b [STEP s] … NEXT [v]`
    For {
        /// Loop variable.
        var: String,
        /// Start value.
        from: Cond,
        /// End value (inclusive).
        to: Cond,
        /// Step (default 1).
        step: Option<Cond>,
        /// Loop body.
        body: Vec<Stmt>,
    },
    /// `FOR EACH v IN item, item … NEXT [v]`
    ForEach {
        /// Loop variable.
        var: String,
        /// The values to iterate (each evaluated as an expression).
        items: ForEachItems,
        /// Loop body.
        body: Vec<Stmt>,
    },
    /// `SUB name[(p1, p2)] … END SUB` — defines, runs nothing.
    Sub {
        /// Sub name (case-insensitive in Qlik; kept as written).
        name: String,
        /// Parameter names.
        params: Vec<String>,
        /// Body, run on `CALL`.
        body: Vec<Stmt>,
    },
    /// `CALL name[(args)];`
    Call {
        /// Sub name.
        name: String,
        /// Arguments (expressions).
        args: Vec<Cond>,
    },
    /// `DO [WHILE|UNTIL c] … LOOP [WHILE|UNTIL c]`
    Do {
        /// Condition checked before each pass.
        pre: Option<LoopCond>,
        /// Loop body.
        body: Vec<Stmt>,
        /// Condition checked after each pass.
        post: Option<LoopCond>,
    },
    /// `SWITCH expr CASE v1[, v2] … DEFAULT … END SWITCH`: the body of the
    /// first `CASE` with a value equal to the expression runs, else the
    /// `DEFAULT` body.
    Switch {
        /// The expression compared.
        subject: Cond,
        /// Each `CASE` with its values and body, in order.
        cases: Vec<(Vec<Cond>, Vec<Stmt>)>,
        /// The `DEFAULT` body.
        default: Option<Vec<Stmt>>,
    },
    /// `BINARY [path];` — the data of another app (its tables and section
    /// access) loaded first. No app file is read offline: the parent's
    /// script stands in for it when one is given (`--binary-script`).
    Binary(Option<String>),
    /// `DIRECTORY path;` — base folder for relative paths that follow.
    Directory(Option<String>),
    /// `QUALIFY f1, f2 | *;` / `UNQUALIFY …;`
    Qualify {
        /// `true` for QUALIFY, `false` for UNQUALIFY.
        on: bool,
        /// Field names or patterns (`*`, `"Name*"`).
        fields: Vec<String>,
    },
    /// `ALIAS a AS b[, c AS d];` — fields loaded after it named `a` are
    /// named `b`.
    Alias(Vec<(Name, Name)>),
    /// `NULLASVALUE f1, f2 | *;` / `NULLASNULL …;` — NULLs of the fields
    /// loaded after it become the text of `NullValue` (or stay NULL).
    NullAsValue {
        /// `true` for NULLASVALUE, `false` for NULLASNULL.
        on: bool,
        /// Field names or patterns (`*`, `"Name*"`).
        fields: Vec<String>,
    },
    /// `AUTONUMBER f1, f2 | * [USING namespace];` — the values of the
    /// fields loaded so far become 1, 2, … per distinct value.
    AutoNumber {
        /// Field names or patterns.
        fields: Vec<String>,
        /// `USING namespace`: fields of one namespace share their numbers.
        using: Option<String>,
    },
    /// Statements with no effect on what a user sees, parsed and skipped:
    /// `SEARCH`, `TAG`, `UNTAG`, `COMMENT`, `SLEEP`, `LOOSEN TABLE`,
    /// `DERIVE` (noted), `FORCE`, `DECLARE`.
    NoEffect {
        /// The leading keyword, upper-case.
        keyword: String,
    },
    /// `LIB CONNECT TO 'name'`, `ODBC|OLEDB [CONNECT32|CONNECT64] CONNECT TO
    /// …`, `CUSTOM CONNECT TO …`: the connection later `SQL` statements use.
    Connect(Connect),
    /// `DISCONNECT`: later `SQL` statements have no connection.
    Disconnect,
    /// A statement whose text contains `$(…)`: expanded, then parsed, at run
    /// time, exactly as Qlik does. `text` is the raw statement without `;`.
    Deferred {
        /// Raw text of the statement.
        text: String,
    },
    /// A statement Qlik knows but this tool cannot run offline: `SQL`,
    /// `CONNECT`, `LIB CONNECT`, `DISCONNECT`, `BINARY`, `EXECUTE`, …
    /// Running it is an error unless `--allow-unsupported`.
    Unsupported {
        /// The leading keyword(s), upper-case, e.g. `SQL SELECT`.
        keyword: String,
    },
    /// Text that is no statement at all. Qlik fails the reload only when such
    /// a statement is reached, so parsing warns and running errors.
    Unknown {
        /// Raw text.
        text: String,
    },
    /// A statement that does not parse. Qlik parses a statement only when it
    /// runs it (a broken `SET TriggerError;` stops a reload on purpose, a
    /// broken statement in a branch that never runs is harmless), so parsing
    /// warns and running fails with the parse error, located.
    Invalid(Box<Invalid>),
}

/// The parse error of a [`StmtKind::Invalid`] statement, kept to be raised
/// if the statement runs.
#[derive(Clone, Debug, Serialize)]
pub struct Invalid {
    /// The statement's text without comments, trimmed.
    pub text: String,
    /// What kind of error.
    pub kind: super::ParseErrorKind,
    /// The error's message.
    pub message: String,
    /// The label at the error's place.
    pub label: String,
    /// The help line.
    pub help: Option<String>,
    /// Where the error is.
    #[serde(skip)]
    pub at: Span,
}

impl Invalid {
    /// The parse error, in `text` (the text the statement was parsed from).
    pub fn error(&self, text: &str) -> super::ParseError {
        super::ParseError::new(
            self.kind,
            self.message.clone(),
            self.label.clone(),
            self.help.clone(),
            self.at,
            text,
        )
    }
}

/// A `CONNECT` statement.
#[derive(Clone, Debug, Serialize)]
pub struct Connect {
    /// `LIB`, `ODBC`, `OLEDB` or `CUSTOM`.
    pub kind: ConnectKind,
    /// What follows `TO`, unquoted: a connection name (`LIB`) or a
    /// connect string (`DSN;UID=…;PWD=…`). It may hold a password: show it
    /// only through [`Connect::name`].
    #[serde(skip)]
    pub target: String,
    /// The connection's name: the `LIB` name, or the data source (the
    /// first `;`-separated part, or `DSN=`/`Data Source=`) of a connect
    /// string; never a password.
    pub name: String,
    /// Span of the target.
    #[serde(skip)]
    pub span: Span,
}

impl PartialEq for Connect {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.target == other.target && self.name == other.name
    }
}

/// How a script connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConnectKind {
    /// `LIB CONNECT TO 'name'` (a stored connection).
    Lib,
    /// `ODBC CONNECT TO …`.
    Odbc,
    /// `OLEDB CONNECT TO …` (and a bare `CONNECT TO`).
    Oledb,
    /// `CUSTOM CONNECT TO …`.
    Custom,
}

/// An expression that may still contain `$(…)`: parsed now when it can be,
/// otherwise kept as text and parsed after expansion at run time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Cond {
    /// Parsed expression.
    Expr(Expr),
    /// Raw text containing `$(…)`.
    Deferred(String),
    /// An expression that does not parse: its error, raised if it is
    /// evaluated (a condition of a branch that never runs is harmless).
    Invalid(Box<Invalid>),
}

/// The items of `FOR EACH`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ForEachItems {
    /// A list of expressions (or deferred text expanding to one).
    List(Vec<Cond>),
    /// `FileList('mask')` — files matching a mask, relative to the script.
    FileList(Cond),
    /// `DirList('mask')` — folders matching a mask.
    DirList(Cond),
    /// The whole item list as raw text with `$(…)` (e.g. `IN $(vList)`),
    /// expanded and split at run time.
    Deferred(String),
}

/// `WHILE`/`UNTIL` of a DO loop.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoopCond {
    /// `true` for `UNTIL`, `false` for `WHILE`.
    pub until: bool,
    /// The condition.
    pub cond: Cond,
}

/// `WHEN`/`UNLESS` of an EXIT statement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Guard {
    /// `true` for `UNLESS`, `false` for `WHEN`.
    pub unless: bool,
    /// The condition.
    pub cond: Cond,
}

/// What an `EXIT` leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ExitWhat {
    /// `EXIT SCRIPT`
    Script,
    /// `EXIT FOR`
    For,
    /// `EXIT DO`
    Do,
    /// `EXIT SUB`
    Sub,
}

/// `DROP …`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Drop {
    /// `DROP TABLE[S] a, b;`
    Tables(Vec<Name>),
    /// `DROP FIELD[S] a, b [FROM t1, t2];`
    Fields {
        /// Fields to drop.
        fields: Vec<Name>,
        /// Only from these tables (empty: from all).
        from: Vec<Name>,
    },
}

/// `STORE [f1 [AS a1], … FROM] table INTO path [(qvd|txt, …)]`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Store {
    /// The fields stored, each with its name in the file; `None` for all
    /// (no list, or `*`).
    pub fields: Option<Vec<(Name, Option<Name>)>>,
    /// The table stored.
    pub table: Name,
    /// The file path as written (after expansion), with its span.
    pub path: Name,
    /// Format specification (`qvd` when none is given).
    pub format: Vec<FormatItem>,
}

/// `RENAME …`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Rename {
    /// `RENAME TABLE a TO b[, c TO d];`
    Tables(Vec<(Name, Name)>),
    /// `RENAME FIELD[S] a TO b[, c TO d];`
    Fields(Vec<(Name, Name)>),
}

/// A name (table, field, variable) as written, brackets or quotes removed.
#[derive(Clone, Debug, Serialize)]
pub struct Name {
    /// The name.
    pub name: String,
    /// Where it is.
    #[serde(skip)]
    pub span: Span,
}

/// A labelled load statement: `Label: prefix… LOAD … ;`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadStmt {
    /// `Label:` before the statement.
    pub label: Option<Name>,
    /// Prefixes in the order written.
    pub prefixes: Vec<Prefix>,
    /// The load itself (a chain when there are preceding loads).
    pub load: Load,
}

/// A prefix of a load statement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Prefix {
    /// `MAPPING` — a two-column mapping table for `ApplyMap`.
    Mapping,
    /// `CONCATENATE [(Table)]`
    Concatenate(Option<Name>),
    /// `NOCONCATENATE`
    NoConcatenate,
    /// `[LEFT|RIGHT|INNER|OUTER] JOIN [(Table)]`
    Join {
        /// Join kind.
        kind: JoinKind,
        /// Target table (default: the last one loaded).
        table: Option<Name>,
    },
    /// `[LEFT|RIGHT|INNER] KEEP [(Table)]`
    Keep {
        /// Keep kind.
        kind: JoinKind,
        /// Other table (default: the last one loaded).
        table: Option<Name>,
    },
    /// `FIRST n` — load at most n rows.
    First(Expr),
    /// `SAMPLE p` — keep each row with probability p.
    Sample(Expr),
    /// A prefix that reshapes the rows of the load: `CROSSTABLE`,
    /// `GENERIC`, `HIERARCHY`, `HIERARCHYBELONGSTO`, `INTERVALMATCH`.
    Reshape {
        /// The keyword, upper-cased, where it is written.
        kind: Name,
        /// The arguments in parentheses as written: a name, a quoted text
        /// or a number each; `None` for an empty place (`a, , b`).
        args: Vec<Option<Name>>,
    },
    /// `ADD ONLY`, `REPLACE ONLY`, `MERGE ONLY`: the statement runs in
    /// partial reloads only (the keyword, upper-cased).
    PartialOnly(Name),
    /// `REPLACE` (not `ONLY`): the table the rows would concatenate to is
    /// dropped first.
    Replace,
    /// `MERGE [(SequenceNoField [, SequenceNoVar])] ON keys` (not `ONLY`):
    /// the rows are a change log applied to a table.
    Merge {
        /// The `MERGE` keyword, where it is written.
        kw: Name,
        /// `SequenceNoField`: the field that orders the operations.
        seq: Option<Name>,
        /// `SequenceNoVar`: the variable given the largest sequence number.
        seq_var: Option<Name>,
        /// `ON` keys: the fields that identify a record.
        keys: Vec<Name>,
    },
    /// Prefixes accepted with no effect offline: `BUFFER`, `ADD` (a full
    /// reload runs the load as it is), `SEMANTIC`.
    Ignored(String),
    /// Prefixes Qlik has that are not supported here (`WHEN`, `UNLESS`).
    Unsupported(Name),
}

/// Kind of a JOIN or KEEP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum JoinKind {
    /// `JOIN` / `OUTER JOIN`
    Outer,
    /// `INNER`
    Inner,
    /// `LEFT`
    Left,
    /// `RIGHT`
    Right,
}

/// One `LOAD …` (possibly fed by a preceding load below it).
#[derive(Clone, Debug, Serialize)]
pub struct Load {
    /// `LOAD DISTINCT`
    pub distinct: bool,
    /// The field list.
    pub fields: Vec<LoadField>,
    /// Where rows come from.
    pub source: Source,
    /// `WHERE cond`
    pub filter: Option<Expr>,
    /// `WHILE cond` (with `IterNo()`); kept for error reporting.
    pub while_: Option<Expr>,
    /// `GROUP BY a, b`
    pub group_by: Vec<Expr>,
    /// `ORDER BY a [ASC|DESC], …` (RESIDENT only): each expression with
    /// `true` for `DESC` (ascending is the default).
    pub order_by: Vec<(Expr, bool)>,
    /// Span of the `LOAD` keyword (for messages about the whole load).
    #[serde(skip)]
    pub span: Span,
}

/// One entry of a load's field list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum LoadField {
    /// `*`
    Star,
    /// `expr [AS alias]`; without alias the output name is the field's own
    /// name (for a plain field reference) or the expression text.
    Expr {
        /// The expression.
        expr: Expr,
        /// `AS alias`.
        alias: Option<Name>,
        /// The expression's text as written (the name Qlik gives an unaliased
        /// computed field).
        text: String,
    },
}

/// The raw text of an INLINE table: a part of the script's text, shared
/// with it when the parser was given the script as shared text (a table of
/// a million rows is not copied). Reads, compares and serializes as the
/// text itself.
#[derive(Clone)]
pub struct InlineText {
    text: SharedText,
    range: Range<usize>,
}

impl InlineText {
    /// `text` on its own.
    pub fn new(text: &str) -> Self {
        Self {
            text: Arc::new(text.to_owned()),
            range: 0..text.len(),
        }
    }

    /// Bytes `range` of the shared `text`; `None` when `range` is not a
    /// part of it (out of bounds, or not on character boundaries).
    pub fn shared(text: &SharedText, range: Range<usize>) -> Option<Self> {
        text.get(range.clone())?;
        Some(Self {
            text: Arc::clone(text),
            range,
        })
    }
}

#[cfg(test)]
impl InlineText {
    /// Shares `text` rather than holding a copy.
    pub(crate) fn is_part_of(&self, text: &SharedText) -> bool {
        Arc::ptr_eq(&self.text, text)
    }
}

impl std::ops::Deref for InlineText {
    type Target = str;

    fn deref(&self) -> &str {
        // INVARIANT: `range` is a range of `text` on char boundaries,
        // checked where the value is made (`new`, `shared`).
        &self.text[self.range.clone()]
    }
}

impl PartialEq for InlineText {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for InlineText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for InlineText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

/// Where a load's rows come from.
#[derive(Clone, Debug, Serialize)]
pub enum Source {
    /// `INLINE [ … ] (format)` — the raw content between the delimiters.
    Inline {
        /// Raw text between `[`/`]` (or quotes), verbatim.
        text: InlineText,
        /// Span of `text` in the file (rows report their lines from it).
        #[serde(skip)]
        text_span: Span,
        /// Format specification after the closing delimiter.
        format: Vec<FormatItem>,
    },
    /// `FROM path (format)`
    From {
        /// The path as written (after expansion), `lib://` kept.
        path: String,
        /// Span of the path.
        #[serde(skip)]
        path_span: Span,
        /// Format specification.
        format: Vec<FormatItem>,
    },
    /// `RESIDENT Table`
    Resident(Name),
    /// `AUTOGENERATE n`
    Autogenerate(Expr),
    /// A preceding load: this load reads the rows of the load below it.
    Preceding(Box<Load>),
    /// `SQL …`: the statement's text, sent to the current connection as
    /// written (after `$(…)` expansion); `SELECT …` without `SQL` too.
    Sql {
        /// The text after `SQL` (from `SELECT` when `SQL` is left out).
        text: String,
        /// Span of the `SQL` keyword (or `SELECT`).
        #[serde(skip)]
        span: Span,
    },
    /// A load reading from something not supported offline (`EXTENSION`,
    /// …).
    Unsupported(Name),
}

/// One item of a format specification `( … )`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum FormatItem {
    /// `txt` / `delimited`
    Txt,
    /// `fix` (fixed record) — unsupported at run time.
    Fix,
    /// `qvd` — unsupported at run time.
    Qvd,
    /// `qvx` — unsupported at run time.
    Qvx,
    /// `biff`, `ooxml`, `xml`, `html`, `json`, `kml`, `parquet` … — unsupported.
    OtherFileType(String),
    /// `utf8`
    Utf8,
    /// `unicode` (UTF-16 LE)
    Unicode,
    /// `ansi` (Windows-1252)
    Ansi,
    /// `oem` (code page 850)
    Oem,
    /// `mac` (Mac Roman)
    Mac,
    /// `codepage is n`
    Codepage(u32),
    /// `embedded labels`
    EmbeddedLabels,
    /// `explicit labels`
    ExplicitLabels,
    /// `no labels`
    NoLabels,
    /// `delimiter is 'x'` (the decoded delimiter: `'\t'` and `tab` give a tab,
    /// `spaces` gives `" "`)
    Delimiter(String),
    /// `msq` — modern style quoting.
    Msq,
    /// `no quotes`
    NoQuotes,
    /// `header is n lines`
    HeaderLines(u32),
    /// `record is n lines` — unsupported at run time.
    RecordLines(u32),
    /// `comment is 'x'` — lines starting with the text are skipped.
    CommentIs(String),
    /// `no eof`
    NoEof,
    /// `table is x` — ignored for text files.
    TableIs(String),
    /// Anything else, verbatim (warned about at run time).
    Other(String),
}

/// An expression with its span.
#[derive(Clone, Debug, Serialize)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is.
    #[serde(skip)]
    pub span: Span,
}

/// Expression forms.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    /// A number literal as written (`1`, `1.5`, `1e3`); text kept for duals.
    Num {
        /// The value.
        value: f64,
        /// Its text as written.
        text: String,
    },
    /// A string literal `'…'` (doubled quotes already undoubled).
    Str(String),
    /// A field reference: `Name`, `[Name]`, `"Name"`, `` `Name` ``.
    Field(String),
    /// A function call; the name is kept as written, matched
    /// case-insensitively at run time.
    Call {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// `Count(DISTINCT x)` and the like.
        distinct: bool,
    },
    /// `*` as a function argument, as in `Count(*)`.
    Star,
    /// A unary operator.
    Unary {
        /// Operator.
        op: UnaryOp,
        /// Operand.
        expr: Box<Expr>,
    },
    /// A binary operator.
    Binary {
        /// Operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `+x`
    Plus,
    /// `NOT x`
    Not,
    /// `BITNOT x`
    BitNot,
}

/// Binary operators, in Qlik's set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `&` string concatenation
    Concat,
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE` (case-insensitive wildcard match with `*` and `?`)
    Like,
    /// `PRECEDES` (text order)
    Precedes,
    /// `FOLLOWS` (text order)
    Follows,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `XOR`
    Xor,
    /// `BITAND`
    BitAnd,
    /// `BITOR`
    BitOr,
    /// `BITXOR`
    BitXor,
    /// `>>`
    Shr,
    /// `<<`
    Shl,
}

// Equality without spans (see the module documentation). Each impl
// destructures every field, so a field added later must be placed here.

impl PartialEq for Stmt {
    fn eq(&self, other: &Self) -> bool {
        let Stmt { kind, span: _ } = self;
        *kind == other.kind
    }
}

impl PartialEq for Invalid {
    fn eq(&self, other: &Self) -> bool {
        let Invalid {
            text,
            kind,
            message,
            label,
            help,
            at: _,
        } = self;
        *text == other.text
            && *kind == other.kind
            && *message == other.message
            && *label == other.label
            && *help == other.help
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        let Name { name, span: _ } = self;
        *name == other.name
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        let Expr { kind, span: _ } = self;
        *kind == other.kind
    }
}

impl PartialEq for Load {
    fn eq(&self, other: &Self) -> bool {
        let Load {
            distinct,
            fields,
            source,
            filter,
            while_,
            group_by,
            order_by,
            span: _,
        } = self;
        *distinct == other.distinct
            && *fields == other.fields
            && *source == other.source
            && *filter == other.filter
            && *while_ == other.while_
            && *group_by == other.group_by
            && *order_by == other.order_by
    }
}

impl PartialEq for Source {
    fn eq(&self, other: &Self) -> bool {
        use Source::*;
        match (self, other) {
            (
                Inline {
                    text,
                    text_span: _,
                    format,
                },
                Inline {
                    text: t,
                    text_span: _,
                    format: f,
                },
            ) => text == t && format == f,
            (
                From {
                    path,
                    path_span: _,
                    format,
                },
                From {
                    path: p,
                    path_span: _,
                    format: f,
                },
            ) => path == p && format == f,
            (Resident(a), Resident(b)) | (Unsupported(a), Unsupported(b)) => a == b,
            (Autogenerate(a), Autogenerate(b)) => a == b,
            (Preceding(a), Preceding(b)) => a == b,
            (Sql { text, span: _ }, Sql { text: t, span: _ }) => text == t,
            // Listed, not `_`: a new variant must be added above.
            (Inline { .. } | From { .. } | Resident(_) | Autogenerate(_), _)
            | (Preceding(_) | Sql { .. } | Unsupported(_), _) => false,
        }
    }
}
