//! Script functions: the supported set, resolved by exact name
//! (case-insensitive) at compile time, evaluated with Qlik's semantics.
//!
//! A function not listed here is an error: an approximation would
//! silently change what a user sees. One of Qlik's own that this tool
//! cannot evaluate (the clock, randomness, the server …) is a
//! `load::unsupported` error with the reason `catalog.rs` gives; any other
//! name is `load::unknown-function`.
//!
//! The functions are split by domain, one file each; this file holds the
//! table of names and arities ([`lookup_function`]), what the compiler
//! needs to know of a function, and [`call`], the one entry point the
//! evaluator uses.

/// The text of argument `$i`; a NULL argument makes the call NULL.
macro_rules! text_arg {
    ($args:expr, $cx:expr, $i:expr) => {
        match super::ev_text($args, $i, $cx)? {
            Some(t) => t,
            None => return Ok($crate::model::Value::Null),
        }
    };
    // An optional argument: `$default` when the call has no argument `$i`.
    ($args:expr, $cx:expr, $i:expr, or $default:expr) => {
        if $args.len() > $i {
            text_arg!($args, $cx, $i)
        } else {
            String::from($default)
        }
    };
}

/// The number of argument `$i`; a NULL or non-numeric argument makes the
/// call NULL.
macro_rules! num_arg {
    ($args:expr, $cx:expr, $i:expr) => {
        match super::ev_num($args, $i, $cx)? {
            Some(n) => n,
            None => return Ok($crate::model::Value::Null),
        }
    };
}

mod aggregation;
mod calendar;
mod catalog;
mod color;
mod conditional;
mod date;
mod number;
mod qvd;
mod table;
mod text;

use crate::load::error::{Fail, LoadErrorKind};
use crate::model::Value;
use crate::script::source::Span;

use super::{CExpr, RowScope, eval, num_of};
use aggregation::AggregationFn;
use calendar::CalendarFn;
use color::ColorFn;
use conditional::ConditionalFn;
use date::DateFn;
pub(in crate::load) use date::{days_from_civil, format_date, format_interval};
use number::NumberFn;
use qvd::QvdFn;
use table::TableFn;
use text::TextFn;

macro_rules! funcs {
    ($( $v:ident = $name:literal, $min:expr, $max:expr => $domain:ident($sub:ident); )*) => {
        /// A supported function.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(in crate::load) enum Func { $( $v, )* }

        static SPECS: &[Spec] = &[ $( Spec { name: $name, f: Func::$v, min: $min, max: $max }, )* ];

        impl Func {
            /// The function as a member of its domain.
            fn domain(self) -> Domain {
                match self { $( Func::$v => Domain::$domain($sub::$v), )* }
            }
        }
    };
}

/// A function by domain: each file evaluates its own.
#[derive(Clone, Copy, Debug)]
enum Domain {
    Text(TextFn),
    Number(NumberFn),
    Conditional(ConditionalFn),
    Table(TableFn),
    Date(DateFn),
    Aggregation(AggregationFn),
    Calendar(CalendarFn),
    Color(ColorFn),
    Qvd(QvdFn),
}

const MANY: usize = usize::MAX;

// The order of this list is the order names are offered in "did you
// mean" help (the first of equally close names wins): keep it.

funcs! {
    Upper = "Upper", 1, 1 => Text(TextFn);
    Lower = "Lower", 1, 1 => Text(TextFn);
    Capitalize = "Capitalize", 1, 1 => Text(TextFn);
    Trim = "Trim", 1, 1 => Text(TextFn);
    LTrim = "LTrim", 1, 1 => Text(TextFn);
    RTrim = "RTrim", 1, 1 => Text(TextFn);
    Len = "Len", 1, 1 => Text(TextFn);
    Left = "Left", 2, 2 => Text(TextFn);
    Right = "Right", 2, 2 => Text(TextFn);
    Mid = "Mid", 2, 3 => Text(TextFn);
    Index = "Index", 2, 3 => Text(TextFn);
    Replace = "Replace", 3, 3 => Text(TextFn);
    SubField = "SubField", 2, 3 => Text(TextFn);
    SubStringCount = "SubStringCount", 2, 2 => Text(TextFn);
    Repeat = "Repeat", 1, 2 => Text(TextFn);
    PurgeChar = "PurgeChar", 2, 2 => Text(TextFn);
    KeepChar = "KeepChar", 2, 2 => Text(TextFn);
    TextBetween = "TextBetween", 3, 4 => Text(TextFn);
    FindOneOf = "FindOneOf", 2, 3 => Text(TextFn);
    Chr = "Chr", 1, 1 => Text(TextFn);
    Ord = "Ord", 1, 1 => Text(TextFn);
    Num = "Num", 1, 4 => Number(NumberFn);
    NumHash = "Num#", 1, 4 => Number(NumberFn);
    Text = "Text", 1, 1 => Text(TextFn);
    Dual = "Dual", 2, 2 => Number(NumberFn);
    If = "If", 2, 3 => Conditional(ConditionalFn);
    Match = "Match", 2, MANY => Conditional(ConditionalFn);
    MixMatch = "MixMatch", 2, MANY => Conditional(ConditionalFn);
    WildMatch = "WildMatch", 2, MANY => Conditional(ConditionalFn);
    Pick = "Pick", 2, MANY => Conditional(ConditionalFn);
    Alt = "Alt", 1, MANY => Conditional(ConditionalFn);
    Coalesce = "Coalesce", 1, MANY => Conditional(ConditionalFn);
    ApplyMap = "ApplyMap", 2, 3 => Table(TableFn);
    RecNo = "RecNo", 0, 0 => Table(TableFn);
    RowNo = "RowNo", 0, 0 => Table(TableFn);
    IterNo = "IterNo", 0, 0 => Table(TableFn);
    IsNull = "IsNull", 1, 1 => Conditional(ConditionalFn);
    IsNum = "IsNum", 1, 1 => Conditional(ConditionalFn);
    IsText = "IsText", 1, 1 => Conditional(ConditionalFn);
    Null = "Null", 0, 0 => Conditional(ConditionalFn);
    True = "True", 0, 0 => Conditional(ConditionalFn);
    False = "False", 0, 0 => Conditional(ConditionalFn);
    Floor = "Floor", 1, 3 => Number(NumberFn);
    Ceil = "Ceil", 1, 3 => Number(NumberFn);
    Round = "Round", 1, 3 => Number(NumberFn);
    Fabs = "Fabs", 1, 1 => Number(NumberFn);
    Sign = "Sign", 1, 1 => Number(NumberFn);
    Mod = "Mod", 2, 2 => Number(NumberFn);
    Div = "Div", 2, 2 => Number(NumberFn);
    Sqrt = "Sqrt", 1, 1 => Number(NumberFn);
    Exp = "Exp", 1, 1 => Number(NumberFn);
    Log = "Log", 1, 1 => Number(NumberFn);
    Log10 = "Log10", 1, 1 => Number(NumberFn);
    Pow = "Pow", 2, 2 => Number(NumberFn);
    RangeSum = "RangeSum", 1, MANY => Number(NumberFn);
    RangeMin = "RangeMin", 1, MANY => Number(NumberFn);
    RangeMax = "RangeMax", 1, MANY => Number(NumberFn);
    Hash128 = "Hash128", 1, MANY => Text(TextFn);
    Hash160 = "Hash160", 1, MANY => Text(TextFn);
    Hash256 = "Hash256", 1, MANY => Text(TextFn);
    Exists = "Exists", 1, 2 => Table(TableFn);
    FieldValue = "FieldValue", 2, 2 => Table(TableFn);
    FieldValueCount = "FieldValueCount", 1, 1 => Table(TableFn);
    FieldIndex = "FieldIndex", 2, 2 => Table(TableFn);
    NoOfRows = "NoOfRows", 1, 1 => Table(TableFn);
    NoOfFields = "NoOfFields", 1, 1 => Table(TableFn);
    Peek = "Peek", 1, 3 => Table(TableFn);
    Previous = "Previous", 1, 1 => Table(TableFn);
    Date = "Date", 1, 2 => Date(DateFn);
    DateHash = "Date#", 1, 2 => Date(DateFn);
    MakeDate = "MakeDate", 1, 3 => Date(DateFn);
    Year = "Year", 1, 1 => Date(DateFn);
    Month = "Month", 1, 1 => Date(DateFn);
    Day = "Day", 1, 1 => Date(DateFn);
    DocumentName = "DocumentName", 0, 0 => Table(TableFn);
    FileName = "FileName", 0, 0 => Table(TableFn);
    FileBaseName = "FileBaseName", 0, 0 => Table(TableFn);
    FileExtension = "FileExtension", 0, 0 => Table(TableFn);
    FilePath = "FilePath", 0, 0 => Table(TableFn);
    FileDir = "FileDir", 0, 0 => Table(TableFn);
    Sum = "Sum", 1, 1 => Aggregation(AggregationFn);
    Count = "Count", 1, 1 => Aggregation(AggregationFn);
    Min = "Min", 1, 1 => Aggregation(AggregationFn);
    Max = "Max", 1, 1 => Aggregation(AggregationFn);
    Avg = "Avg", 1, 1 => Aggregation(AggregationFn);
    Only = "Only", 1, 1 => Aggregation(AggregationFn);
    Concat = "Concat", 1, 3 => Aggregation(AggregationFn);
    MinString = "MinString", 1, 1 => Aggregation(AggregationFn);
    MaxString = "MaxString", 1, 1 => Aggregation(AggregationFn);
    QvdNoOfRecords = "QvdNoOfRecords", 1, 1 => Qvd(QvdFn);
    QvdNoOfFields = "QvdNoOfFields", 1, 1 => Qvd(QvdFn);
    QvdFieldName = "QvdFieldName", 2, 2 => Qvd(QvdFn);
    QvdTableName = "QvdTableName", 1, 1 => Qvd(QvdFn);
    QvdCreateTime = "QvdCreateTime", 1, 1 => Qvd(QvdFn);
    Hour = "Hour", 1, 1 => Date(DateFn);
    Minute = "Minute", 1, 1 => Date(DateFn);
    Second = "Second", 1, 1 => Date(DateFn);
    MakeTime = "MakeTime", 1, 3 => Date(DateFn);
    Time = "Time", 1, 2 => Date(DateFn);
    TimeHash = "Time#", 1, 2 => Date(DateFn);
    Timestamp = "Timestamp", 1, 2 => Date(DateFn);
    TimestampHash = "Timestamp#", 1, 2 => Date(DateFn);
    Interval = "Interval", 1, 2 => Date(DateFn);
    IntervalHash = "Interval#", 1, 2 => Date(DateFn);
    YearStart = "YearStart", 1, 3 => Calendar(CalendarFn);
    YearEnd = "YearEnd", 1, 3 => Calendar(CalendarFn);
    YearName = "YearName", 1, 3 => Calendar(CalendarFn);
    QuarterStart = "QuarterStart", 1, 3 => Calendar(CalendarFn);
    QuarterEnd = "QuarterEnd", 1, 3 => Calendar(CalendarFn);
    QuarterName = "QuarterName", 1, 3 => Calendar(CalendarFn);
    MonthStart = "MonthStart", 1, 2 => Calendar(CalendarFn);
    MonthEnd = "MonthEnd", 1, 2 => Calendar(CalendarFn);
    MonthName = "MonthName", 1, 2 => Calendar(CalendarFn);
    MonthsStart = "MonthsStart", 2, 4 => Calendar(CalendarFn);
    MonthsEnd = "MonthsEnd", 2, 4 => Calendar(CalendarFn);
    MonthsName = "MonthsName", 2, 4 => Calendar(CalendarFn);
    WeekStart = "WeekStart", 1, 3 => Calendar(CalendarFn);
    WeekEnd = "WeekEnd", 1, 3 => Calendar(CalendarFn);
    WeekName = "WeekName", 1, 3 => Calendar(CalendarFn);
    DayStart = "DayStart", 1, 3 => Calendar(CalendarFn);
    DayEnd = "DayEnd", 1, 3 => Calendar(CalendarFn);
    DayName = "DayName", 1, 3 => Calendar(CalendarFn);
    LunarWeekStart = "LunarWeekStart", 1, 3 => Calendar(CalendarFn);
    LunarWeekEnd = "LunarWeekEnd", 1, 3 => Calendar(CalendarFn);
    LunarWeekName = "LunarWeekName", 1, 3 => Calendar(CalendarFn);
    InLunarWeek = "InLunarWeek", 3, 4 => Calendar(CalendarFn);
    InLunarWeekToDate = "InLunarWeekToDate", 3, 4 => Calendar(CalendarFn);
    InYear = "InYear", 3, 4 => Calendar(CalendarFn);
    InYearToDate = "InYearToDate", 3, 4 => Calendar(CalendarFn);
    InQuarter = "InQuarter", 3, 4 => Calendar(CalendarFn);
    InQuarterToDate = "InQuarterToDate", 3, 4 => Calendar(CalendarFn);
    InMonth = "InMonth", 3, 3 => Calendar(CalendarFn);
    InMonthToDate = "InMonthToDate", 3, 3 => Calendar(CalendarFn);
    InMonths = "InMonths", 4, 5 => Calendar(CalendarFn);
    InMonthsToDate = "InMonthsToDate", 4, 5 => Calendar(CalendarFn);
    InWeek = "InWeek", 3, 4 => Calendar(CalendarFn);
    InWeekToDate = "InWeekToDate", 3, 4 => Calendar(CalendarFn);
    InDay = "InDay", 3, 4 => Calendar(CalendarFn);
    InDayToDate = "InDayToDate", 3, 4 => Calendar(CalendarFn);
    AddMonths = "AddMonths", 2, 3 => Calendar(CalendarFn);
    AddYears = "AddYears", 2, 2 => Calendar(CalendarFn);
    Week = "Week", 1, 4 => Calendar(CalendarFn);
    WeekYear = "WeekYear", 1, 4 => Calendar(CalendarFn);
    WeekDay = "WeekDay", 1, 2 => Calendar(CalendarFn);
    MakeWeekDate = "MakeWeekDate", 1, 3 => Calendar(CalendarFn);
    Age = "Age", 2, 2 => Calendar(CalendarFn);
    NetWorkDays = "NetWorkDays", 2, MANY => Calendar(CalendarFn);
    FirstWorkDate = "FirstWorkDate", 2, MANY => Calendar(CalendarFn);
    LastWorkDate = "LastWorkDate", 2, MANY => Calendar(CalendarFn);
    DayNumberOfYear = "DayNumberOfYear", 1, 2 => Calendar(CalendarFn);
    DayNumberOfQuarter = "DayNumberOfQuarter", 1, 2 => Calendar(CalendarFn);
    SetDateYear = "SetDateYear", 2, 2 => Calendar(CalendarFn);
    SetDateYearMonth = "SetDateYearMonth", 3, 3 => Calendar(CalendarFn);
    Even = "Even", 1, 1 => Number(NumberFn);
    Odd = "Odd", 1, 1 => Number(NumberFn);
    Fmod = "Fmod", 2, 2 => Number(NumberFn);
    Frac = "Frac", 1, 1 => Number(NumberFn);
    Fact = "Fact", 1, 1 => Number(NumberFn);
    Combin = "Combin", 2, 2 => Number(NumberFn);
    Permut = "Permut", 2, 2 => Number(NumberFn);
    BitCount = "BitCount", 1, 1 => Number(NumberFn);
    Money = "Money", 1, 4 => Number(NumberFn);
    MoneyHash = "Money#", 1, 4 => Number(NumberFn);
    Pi = "Pi", 0, 0 => Number(NumberFn);
    E = "E", 0, 0 => Number(NumberFn);
    Sin = "Sin", 1, 1 => Number(NumberFn);
    Cos = "Cos", 1, 1 => Number(NumberFn);
    Tan = "Tan", 1, 1 => Number(NumberFn);
    ASin = "ASin", 1, 1 => Number(NumberFn);
    ACos = "ACos", 1, 1 => Number(NumberFn);
    ATan = "ATan", 1, 1 => Number(NumberFn);
    ATan2 = "ATan2", 2, 2 => Number(NumberFn);
    SinH = "SinH", 1, 1 => Number(NumberFn);
    CosH = "CosH", 1, 1 => Number(NumberFn);
    TanH = "TanH", 1, 1 => Number(NumberFn);
    FirstSortedValue = "FirstSortedValue", 2, 3 => Aggregation(AggregationFn);
    Mode = "Mode", 1, 1 => Aggregation(AggregationFn);
    Median = "Median", 1, 1 => Aggregation(AggregationFn);
    Fractile = "Fractile", 2, 2 => Aggregation(AggregationFn);
    Stdev = "Stdev", 1, 1 => Aggregation(AggregationFn);
    NullCount = "NullCount", 1, 1 => Aggregation(AggregationFn);
    TextCount = "TextCount", 1, 1 => Aggregation(AggregationFn);
    NumericCount = "NumericCount", 1, 1 => Aggregation(AggregationFn);
    MissingCount = "MissingCount", 1, 1 => Aggregation(AggregationFn);
    AutoNumber = "AutoNumber", 1, 2 => Table(TableFn);
    AutoNumberHash128 = "AutoNumberHash128", 1, MANY => Table(TableFn);
    AutoNumberHash256 = "AutoNumberHash256", 1, MANY => Table(TableFn);
    NoOfTables = "NoOfTables", 0, 0 => Table(TableFn);
    TableName = "TableName", 1, 1 => Table(TableFn);
    TableNumber = "TableNumber", 1, 1 => Table(TableFn);
    FieldName = "FieldName", 2, 2 => Table(TableFn);
    FieldNumber = "FieldNumber", 2, 2 => Table(TableFn);
    Class = "Class", 2, 4 => Conditional(ConditionalFn);
    EmptyIsNull = "EmptyIsNull", 1, 1 => Conditional(ConditionalFn);
    IsPartialReload = "IsPartialReload", 0, 0 => Conditional(ConditionalFn);
    Sqr = "Sqr", 1, 1 => Number(NumberFn);
    RangeAvg = "RangeAvg", 1, MANY => Number(NumberFn);
    RangeCount = "RangeCount", 1, MANY => Number(NumberFn);
    RangeNullCount = "RangeNullCount", 1, MANY => Number(NumberFn);
    RangeNumericCount = "RangeNumericCount", 1, MANY => Number(NumberFn);
    RangeTextCount = "RangeTextCount", 1, MANY => Number(NumberFn);
    RangeMissingCount = "RangeMissingCount", 1, MANY => Number(NumberFn);
    RangeOnly = "RangeOnly", 1, MANY => Number(NumberFn);
    RangeMode = "RangeMode", 1, MANY => Number(NumberFn);
    RangeStdev = "RangeStdev", 1, MANY => Number(NumberFn);
    RangeMaxString = "RangeMaxString", 1, MANY => Number(NumberFn);
    RangeMinString = "RangeMinString", 1, MANY => Number(NumberFn);
    RangeFractile = "RangeFractile", 2, MANY => Number(NumberFn);
    LookUp = "LookUp", 3, 4 => Table(TableFn);
    MapSubstring = "MapSubstring", 2, 2 => Table(TableFn);
    LevenshteinDist = "LevenshteinDist", 2, 2 => Text(TextFn);
    Evaluate = "Evaluate", 1, 1 => Text(TextFn);
    FractileExc = "FractileExc", 2, 2 => Aggregation(AggregationFn);
    Skew = "Skew", 1, 1 => Aggregation(AggregationFn);
    Kurtosis = "Kurtosis", 1, 1 => Aggregation(AggregationFn);
    Sterr = "Sterr", 1, 1 => Aggregation(AggregationFn);
    Correl = "Correl", 2, 2 => Aggregation(AggregationFn);
    Steyx = "STEYX", 2, 2 => Aggregation(AggregationFn);
    RangeFractileExc = "RangeFractileExc", 2, MANY => Number(NumberFn);
    RangeSkew = "RangeSkew", 1, MANY => Number(NumberFn);
    RangeKurtosis = "RangeKurtosis", 1, MANY => Number(NumberFn);
    RangeCorrel = "RangeCorrel", 2, MANY => Number(NumberFn);
    Fv = "FV", 3, 5 => Number(NumberFn);
    Pv = "PV", 3, 5 => Number(NumberFn);
    Pmt = "Pmt", 3, 5 => Number(NumberFn);
    NPer = "nPer", 3, 5 => Number(NumberFn);
    RangeNpv = "RangeNPV", 2, MANY => Number(NumberFn);
    RangeIrr = "RangeIRR", 1, MANY => Number(NumberFn);
    RangeXnpv = "RangeXNPV", 3, MANY => Number(NumberFn);
    RangeXirr = "RangeXIRR", 2, MANY => Number(NumberFn);
    Npv = "NPV", 2, 2 => Aggregation(AggregationFn);
    Irr = "IRR", 1, 1 => Aggregation(AggregationFn);
    Xnpv = "XNPV", 3, 3 => Aggregation(AggregationFn);
    Xirr = "XIRR", 2, 2 => Aggregation(AggregationFn);
    FileSize = "FileSize", 0, 1 => Table(TableFn);
    Rgb = "RGB", 3, 3 => Color(ColorFn);
    Argb = "ARGB", 4, 4 => Color(ColorFn);
    Colormix1 = "Colormix1", 3, 3 => Color(ColorFn);
    Colormix2 = "Colormix2", 3, 4 => Color(ColorFn);
    Black = "Black", 0, 1 => Color(ColorFn);
    Blue = "Blue", 0, 1 => Color(ColorFn);
    Brown = "Brown", 0, 1 => Color(ColorFn);
    Cyan = "Cyan", 0, 1 => Color(ColorFn);
    DarkGray = "DarkGray", 0, 1 => Color(ColorFn);
    Green = "Green", 0, 1 => Color(ColorFn);
    LightBlue = "LightBlue", 0, 1 => Color(ColorFn);
    LightCyan = "LightCyan", 0, 1 => Color(ColorFn);
    LightGray = "LightGray", 0, 1 => Color(ColorFn);
    LightGreen = "LightGreen", 0, 1 => Color(ColorFn);
    LightMagenta = "LightMagenta", 0, 1 => Color(ColorFn);
    LightRed = "LightRed", 0, 1 => Color(ColorFn);
    Magenta = "Magenta", 0, 1 => Color(ColorFn);
    Red = "Red", 0, 1 => Color(ColorFn);
    White = "White", 0, 1 => Color(ColorFn);
    Yellow = "Yellow", 0, 1 => Color(ColorFn);
    QlikTechBlue = "QlikTechBlue", 0, 1 => Color(ColorFn);
    QlikTechGray = "QlikTechGray", 0, 1 => Color(ColorFn);
}

/// A function's name and arity.
pub(super) struct Spec {
    pub(super) name: &'static str,
    pub(super) f: Func,
    pub(super) min: usize,
    pub(super) max: usize,
}

/// The function named `name` (case-insensitive, exact otherwise).
pub(super) fn lookup_function(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The reason Qlik's function `name` is not supported offline (`None` for
/// a supported function or a name Qlik does not have).
pub(super) fn unsupported(name: &str) -> Option<&'static str> {
    catalog::unsupported(name)
}

/// Every supported function name.
pub(super) fn names() -> Vec<&'static str> {
    SPECS.iter().map(|s| s.name).collect()
}

impl Func {
    /// Aggregations work over the rows of a group (GROUP BY).
    pub(super) fn is_aggregation(self) -> bool {
        matches!(self.domain(), Domain::Aggregation(_))
    }

    /// True when the result depends on the arguments' values alone:
    /// no variable, row number, other row, model lookup or aggregation. A
    /// load may then evaluate it once per distinct input value.
    pub(in crate::load) fn is_pure(self) -> bool {
        use Func::*;
        matches!(
            self,
            Upper
                | Lower
                | Capitalize
                | Trim
                | LTrim
                | RTrim
                | Len
                | Left
                | Right
                | Mid
                | Index
                | Replace
                | SubStringCount
                | Repeat
                | PurgeChar
                | KeepChar
                | TextBetween
                | FindOneOf
                | Chr
                | Ord
                | If
                | Match
                | MixMatch
                | WildMatch
                | Pick
                | Alt
                | Coalesce
                | IsNull
                | IsNum
                | IsText
                | Null
                | True
                | False
                | Floor
                | Ceil
                | Round
                | Fabs
                | Sign
                | Mod
                | Div
                | Sqrt
                | Exp
                | Log
                | Pow
                | RangeSum
                | RangeMin
                | RangeMax
                | Even
                | Odd
                | Fmod
                | Frac
                | Fact
                | Combin
                | Permut
                | BitCount
                | Pi
                | E
                | Sin
                | Cos
                | Tan
                | ASin
                | ACos
                | ATan
                | ATan2
                | SinH
                | CosH
                | TanH
        )
    }

    /// Argument `i` names a field (a bare identifier is the name itself).
    pub(super) fn takes_field_name(self, i: usize) -> bool {
        matches!(
            (self, i),
            (
                Func::Exists
                    | Func::FieldValue
                    | Func::FieldValueCount
                    | Func::FieldIndex
                    | Func::FieldNumber
                    | Func::Peek,
                0
            )
        )
    }

    /// For `Exists(F)`: the name is also the value to look for.
    pub(super) fn name_arg_also_value(self) -> bool {
        self == Func::Exists
    }
}

fn bad(span: Span, message: impl Into<String>) -> Fail {
    Fail::new(LoadErrorKind::BadArgument, span, message)
}

fn arg(args: &[CExpr], i: usize) -> Option<&CExpr> {
    args.get(i)
}

fn ev(args: &[CExpr], i: usize, cx: &RowScope<'_>) -> Result<Value, Fail> {
    match args.get(i) {
        Some(e) => eval(e, cx),
        None => Ok(Value::Null),
    }
}

fn ev_text(args: &[CExpr], i: usize, cx: &RowScope<'_>) -> Result<Option<String>, Fail> {
    let v = ev(args, i, cx)?;
    Ok(if v.is_null() {
        None
    } else {
        Some(v.text().into_owned())
    })
}

fn ev_num(args: &[CExpr], i: usize, cx: &RowScope<'_>) -> Result<Option<f64>, Fail> {
    Ok(num_of(&ev(args, i, cx)?))
}

/// Evaluates a call.
pub(super) fn call(
    f: Func,
    args: &[CExpr],
    distinct: bool,
    span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    match f.domain() {
        Domain::Text(f) => text::call(f, args, span, cx),
        Domain::Number(f) => number::call(f, args, span, cx),
        Domain::Conditional(f) => conditional::call(f, args, span, cx),
        Domain::Table(f) => table::call(f, args, span, cx),
        Domain::Date(f) => date::call(f, args, span, cx),
        Domain::Aggregation(f) => aggregation::call(f, args, distinct, span, cx),
        Domain::Calendar(f) => calendar::call(f, args, span, cx),
        Domain::Color(f) => color::call(f, args, span, cx),
        Domain::Qvd(f) => qvd::call(f, args, span, cx),
    }
}
